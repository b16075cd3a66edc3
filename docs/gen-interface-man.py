#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes the manual page of a nestvirtd interface (org.nestvirt.NestVirt1(5) and
org.nestvirt.NestVirt1.VM(5)) from its introspection XML.

The XML in dbus/ is the API contract and carries its documentation in the comment before each
member ("Name: text"). Generating the page from it keeps the two from drifting apart.
"""

import sys
import textwrap
import xml.etree.ElementTree as ET


def roff_escape(text):
    text = text.replace("\\", "\\e")
    lines = []
    for line in text.split("\n"):
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def paragraphs(comment, name):
    """Splits a member's comment into (literal, lines) runs, dropping the leading 'Name:'.

    Blank lines end a paragraph; indented lines (such as the flag table) keep their layout."""
    text = textwrap.dedent(comment.strip("\n")).strip()
    if text.startswith(name + ":"):
        text = text[len(name) + 1:].lstrip()
    out = []
    for para in text.split("\n\n"):
        for line in para.split("\n"):
            literal = line.startswith("  ")
            if out and out[-1][0] == literal and not out[-1][2]:
                out[-1][1].append(line if literal else line.strip())
            else:
                out.append([literal, [line if literal else line.strip()], False])
        if out:
            out[-1][2] = True  # closed: the next line starts a new paragraph
    return [(lit, lines) for lit, lines, _ in out]


def emit_doc(comment, name, w):
    for literal, block in paragraphs(comment, name):
        if literal:
            w(".PP\n.nf\n" + roff_escape("\n".join(block)) + "\n.fi\n")
        else:
            w(".PP\n" + roff_escape(" ".join(block)) + "\n")


def signature(method):
    args = []
    for a in method.findall("arg"):
        args.append("%s %s %s" % (a.get("direction", "in"), a.get("type"), a.get("name")))
    return "%s(%s)" % (method.get("name"), ", ".join(args))


# What each page says beyond its XML.
PAGES = {
    "org.nestvirt.NestVirt1": {
        "title": "the D\\-Bus interface of nestvirtd",
        "objects": "object \\fB/org/nestvirt/NestVirt1\\fR",
        "polkit": "\\fBorg.nestvirt.NestVirt1.set-nested\\fR (a live change; implies the two others), "
                  "\\fBorg.nestvirt.NestVirt1.set-persistent\\fR (the drop\\-in), "
                  "\\fBorg.nestvirt.NestVirt1.enforce\\fR (apply the persistent setting now). "
                  "All default to auth_admin_keep. Reading needs no authorization.",
        "examples": "busctl get\\-property org.nestvirt.NestVirt1 /org/nestvirt/NestVirt1 \\e\n"
                    "        org.nestvirt.NestVirt1 Nested\n"
                    "busctl call org.nestvirt.NestVirt1 /org/nestvirt/NestVirt1 \\e\n"
                    "        org.nestvirt.NestVirt1 SetNested bt false 3\n"
                    "gdbus introspect \\-\\-system \\-\\-dest org.nestvirt.NestVirt1 \\e\n"
                    "        \\-\\-object\\-path /org/nestvirt/NestVirt1\n",
        "see_also": "org.nestvirt.NestVirt1.VM(5), nestvirtctl(1), nestvirtd(8), busctl(1), polkit(8)",
    },
    "org.nestvirt.NestVirt1.VM": {
        "title": "one virtual machine, as nestvirtd sees it",
        "objects": "objects below \\fB/org/nestvirt/NestVirt1/vm\\fR",
        "polkit": "\\fBorg.nestvirt.NestVirt1.set-vm-nesting\\fR (SetExposure), default "
                  "auth_admin_keep. Reading needs no authorization.",
        "examples": "busctl call org.nestvirt.NestVirt1 /org/nestvirt/NestVirt1 \\e\n"
                    "        org.freedesktop.DBus.ObjectManager GetManagedObjects\n"
                    "busctl call org.nestvirt.NestVirt1 /org/nestvirt/NestVirt1/vm/proxmox_100 \\e\n"
                    "        org.nestvirt.NestVirt1.VM SetExposure bt true 0\n",
        "see_also": "org.nestvirt.NestVirt1(5), nestvirtctl(1), nestvirtd(8), busctl(1), polkit(8)",
    },
}


def main(xml_path, out_path):
    tree = ET.parse(xml_path, parser=ET.XMLParser(target=ET.TreeBuilder(insert_comments=True)))
    root = tree.getroot()
    iface = root.find("interface")
    # The comment before <node> introduces the interface; the parser does not keep it.
    with open(xml_path) as f:
        raw = f.read()
    header_comment = raw[raw.index("<!--", raw.index("<!DOCTYPE")) + 4:]
    header_comment = header_comment[:header_comment.index("-->")]

    methods, properties = [], []
    pending = None
    for child in iface:
        if child.tag is ET.Comment:
            pending = child.text
            continue
        if child.tag == "method":
            methods.append((child, pending or ""))
        elif child.tag == "property":
            properties.append((child, pending or ""))
        pending = None

    parts = []
    w = parts.append
    name = iface.get("name")
    page = PAGES[name]
    w('.TH "%s" "5" "" "nestvirt" "%s"\n' % (roff_escape(name.upper()), name))
    w(".SH NAME\n%s \\- %s\n" % (name, page["title"]))
    w(".SH INTRODUCTION\n")
    intro = [l for l in textwrap.dedent(header_comment).strip().split("\n")
             if not l.startswith("SPDX-License-Identifier")]
    for para in "\n".join(intro).strip().split("\n\n"):
        w(".PP\n" + roff_escape(" ".join(l.strip() for l in para.split("\n"))) + "\n")
    w(".PP\nBus name \\fBorg.nestvirt.NestVirt1\\fR, %s, interface \\fB%s\\fR, on the system "
      "bus.\n" % (page["objects"], name))

    w(".SH METHODS\n")
    for m, comment in methods:
        w('.SS "%s"\n' % roff_escape(signature(m)))
        emit_doc(comment, m.get("name"), w)

    w(".SH PROPERTIES\n")
    for p, comment in properties:
        emits = "true"
        for a in p.findall("annotation"):
            if a.get("name") == "org.freedesktop.DBus.Property.EmitsChangedSignal":
                emits = a.get("value")
        note = "constant" if emits == "const" else "announced with PropertiesChanged"
        w('.SS "%s %s (read\\-only, %s)"\n' % (p.get("type"), p.get("name"), note))
        emit_doc(comment, p.get("name"), w)

    w(".SH POLKIT ACTIONS\n.PP\n" + page["polkit"] + "\n")
    w(".SH EXAMPLES\n.PP\n.nf\n" + page["examples"] + ".fi\n")
    w(".SH SEE ALSO\n.PP\n%s\n" % page["see_also"])

    with open(out_path, "w") as f:
        f.write("".join(parts))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
