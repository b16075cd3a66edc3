#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The manual pages render without warnings and name every member of the D-Bus contract.

usage: test-man.py INTERFACE.xml INTERFACE.5 PAGE...
"""

import os
import subprocess
import sys
import xml.etree.ElementTree as ET


def render(page):
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8")
    p = subprocess.run(["man", "--warnings", "-l", page], capture_output=True, text=True, env=env)
    return p.returncode, p.stdout, p.stderr


def main():
    xml_path, iface_page, pages = sys.argv[1], sys.argv[2], sys.argv[3:]
    failed = False

    for page in [iface_page] + pages:
        rc, out, err = render(page)
        if rc != 0 or err.strip():
            print("FAIL: %s renders with warnings:\n%s" % (page, err))
            failed = True
        elif not out.strip():
            print("FAIL: %s renders to nothing" % page)
            failed = True
        else:
            print("ok: %s renders cleanly" % os.path.basename(page))

    iface = ET.parse(xml_path).getroot().find("interface")
    members = [e.get("name") for e in iface if e.tag in ("method", "property", "signal")]
    _, text, _ = render(iface_page)
    # Hyphenation would split long names across lines; join them for the search.
    flat = text.replace("\u2010\n", "").replace("-\n", "")
    missing = [m for m in members if m not in flat]
    if missing:
        print("FAIL: %s does not name: %s" % (iface_page, ", ".join(missing)))
        failed = True
    else:
        print("ok: all %d members of the interface are documented" % len(members))

    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
