#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A stand-in for Proxmox VE's pvesh, for tests: Proxmox VE cannot be installed here.

It plays pmxcfs and qemu-server's API for the two calls nestvirtd makes, on the VM configs under
$NESTVIRT_ROOT/etc/pve/qemu-server (qm.conf(5)), and checks its arguments the way PVE's API
schema does (pve-docs, qemu-server src/PVE/API2/Qemu.pm, CPUConfig.pm, CPUFlags.pm):

  pvesh get /nodes/NODE/qemu/VMID/config --output-format json
      The config with [PENDING] applied (vm_config without 'current'), plus its 'digest': the
      SHA-1 of the file.
  pvesh set /nodes/NODE/qemu/VMID/config --cpu CPU [--digest DIGEST]
      update_vm: the config must exist, the digest must match ("checksum mismatch (file change
      by other user?)"), cpu must be a valid pve-vm-cpu-conf (known CPU type or an existing
      custom model, VM flags only from the VM-specific list, nested-virt only with qemu-server
      9.0.27 or later, no reported-model), the VM must not be locked ("VM is locked (LOCK)").
      A running VM (a pid file naming a process with "-id VMID") gets the new cpu in [PENDING], as cpu is not
      hot-pluggable; a stopped one gets all pending changes applied. The file is replaced
      atomically.

NODE must be this node: the target of $NESTVIRT_ROOT/etc/pve/local (nodes/NAME), else the short
host name. qemu-server's version comes from $NESTVIRT_PVESH_QEMU_SERVER, else from
$NESTVIRT_ROOT/var/lib/dpkg/status. Every call appends its arguments, tab-separated, as one line
to $NESTVIRT_PVESH_LOG. With NESTVIRT_PVESH_RACE=1 a get also changes the file afterwards, as
another user would, so that the next set's digest is stale.

Exit status 0 on success; on errors PVE's message on stderr and status 255, as pvesh has.
"""

import hashlib
import json
import os
import re
import socket
import sys
import tempfile

ROOT = os.environ.get("NESTVIRT_ROOT", "")
CONF_DIR = ROOT + "/etc/pve/qemu-server"
MODELS = ROOT + "/etc/pve/virtual-guest/cpu-models.conf"

VM_FLAGS = {"aes", "amd-no-ssb", "amd-ssbd", "hv-evmcs", "hv-tlbflush", "ibpb", "md-clear",
            "nested-virt", "pcid", "pdpe1gb", "spec-ctrl", "ssbd", "virt-ssbd"}
# A part of CPUConfig.pm's $cpu_vendor_list and its built-in models: enough for the tests' configs.
CPU_TYPES = {"host", "max", "kvm32", "kvm64", "qemu32", "qemu64", "x86-64-v2", "x86-64-v2-AES",
             "x86-64-v3", "x86-64-v4", "Haswell", "Broadwell", "Skylake-Client", "Skylake-Server",
             "Cascadelake-Server", "Cooperlake", "Cooperlake-v2", "Icelake-Server",
             "SapphireRapids", "EPYC", "EPYC-v4", "EPYC-Rome", "EPYC-Milan", "EPYC-Genoa",
             "Opteron_G5"}
NESTED_VIRT_VERSION = (9, 0, 27)


class PveError(Exception):
    pass


def fail(message):
    raise PveError(message)


def log_call(argv):
    path = os.environ.get("NESTVIRT_PVESH_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write("\t".join(argv) + "\n")


def this_node():
    try:
        target = os.readlink(ROOT + "/etc/pve/local")
        if target.startswith("nodes/"):
            return target[len("nodes/"):]
    except OSError:
        pass
    return socket.gethostname().split(".")[0]


def qemu_server_version():
    v = os.environ.get("NESTVIRT_PVESH_QEMU_SERVER")
    if v:
        return v
    try:
        with open(ROOT + "/var/lib/dpkg/status", encoding="utf-8") as f:
            paragraphs = f.read().split("\n\n")
    except OSError:
        return None
    for p in paragraphs:
        fields = dict(re.findall(r"^([A-Za-z-]+):\s*(.*?)\s*$", p, re.M))
        if fields.get("Package") == "qemu-server":
            return fields.get("Version")
    return None


def knows_nested_virt():
    v = qemu_server_version()
    if not v:
        return False
    m = re.match(r"(\d+)\.(\d+)\.(\d+)", v.split(":")[-1])
    return bool(m) and tuple(int(x) for x in m.groups()) >= NESTED_VIRT_VERSION


class Config:
    """A qm.conf file: description, the current config, [PENDING] and the rest kept as written."""

    def __init__(self, raw):
        self.raw = raw
        self.description = []
        self.main = {}
        self.pending = {}
        self.delete = []
        self.has_pending = False
        self.rest = []
        section = "main"
        for line in raw.split("\n"):
            if re.match(r"^\s*$", line):
                continue
            if re.match(r"^\[PENDING\]\s*$", line, re.I):
                section = "pending"
                self.has_pending = True
                continue
            if re.match(r"^\[([^\]]*)\]\s*$", line):
                section = "rest"
            if section == "rest":
                self.rest.append(line)
                continue
            target = self.main if section == "main" else self.pending
            if line.startswith("#"):
                if section == "main":
                    self.description.append(line[1:])
                continue
            m = re.match(r"^([a-z][a-z_\-]*\d*):\s*(.+?)\s*$", line)
            if not m:
                continue
            key, value = m.groups()
            if key == "delete" and section == "pending":
                self.delete = [k.lstrip("!") for k in re.split(r"[,;\s]+", value) if k]
            elif key != "delete":
                target[key] = value

    def digest(self):
        return hashlib.sha1(self.raw.encode("utf-8")).hexdigest()

    def current_with_pending(self):
        conf = dict(self.main)
        conf.update(self.pending)
        for key in self.delete:
            conf.pop(key, None)
        return conf

    def render(self):
        out = ["#" + d for d in self.description]
        out += ["%s: %s" % (k, self.main[k]) for k in sorted(self.main)]
        if self.pending or self.delete:
            out += ["", "[PENDING]"]
            if self.delete:
                out.append("delete: " + ",".join(self.delete))
            out += ["%s: %s" % (k, self.pending[k]) for k in sorted(self.pending)]
        if self.rest:
            out.append("")
            for line in self.rest:
                if line.startswith("[") and out[-1] != "":
                    out.append("")
                out.append(line)
        return "\n".join(out) + "\n"


def conf_path(vmid):
    return "%s/%s.conf" % (CONF_DIR, vmid)


def load(node, vmid):
    try:
        with open(conf_path(vmid), encoding="utf-8") as f:
            return Config(f.read())
    except FileNotFoundError:
        fail("Configuration file 'nodes/%s/qemu-server/%s.conf' does not exist" % (node, vmid))


def write_atomic(path, text):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".standin-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def running(vmid):
    try:
        with open("%s/var/run/qemu-server/%s.pid" % (ROOT, vmid), encoding="utf-8") as f:
            pid = int(f.readline().strip())
    except (OSError, ValueError):
        return False
    # check_running: the process must be this VM's QEMU ("-id VMID").
    try:
        with open("%s/proc/%d/cmdline" % (ROOT, pid), "rb") as f:
            args = f.read().split(b"\0")
    except OSError:
        return False
    return any(a in (b"-id", b"--id") and b == vmid.encode() for a, b in zip(args, args[1:]))


def custom_models():
    try:
        with open(MODELS, encoding="utf-8") as f:
            return set(re.findall(r"^cpu-model:\s*(\S+)\s*$", f.read(), re.M))
    except OSError:
        return set()


def param_error(key, message):
    fail("400 Parameter verification failed.\n%s: %s" % (key, message))


def check_cpu(value):
    """pve-vm-cpu-conf: the property string and validate_vm_cpu_conf()."""
    parsed = {}
    for part in value.split(","):
        if re.match(r"^\s*$", part):
            continue
        m = re.match(r"^([^=]+)=(.+)$", part)
        if m:
            key, v = m.groups()
        elif "=" not in part:
            key, v = "cputype", part
        else:
            param_error("cpu", "missing value in '%s'" % part)
        if key in parsed:
            param_error("cpu", "duplicate key in comma-separated list property: " + key)
        parsed[key] = v
    known = {"cputype", "flags", "hidden", "hv-vendor-id", "phys-bits", "guest-phys-bits",
             "reported-model"}
    for key in parsed:
        if key not in known:
            param_error("cpu", "invalid format - property '%s' not allowed" % key)
    cputype = parsed.get("cputype")
    if not cputype:
        param_error("cpu", "CPU is missing cputype")
    if cputype.startswith("custom-"):
        if cputype[len("custom-"):] not in custom_models():
            param_error("cpu", "Custom cputype '%s' not found" % cputype[len("custom-"):])
    elif cputype not in CPU_TYPES:
        param_error("cpu", "Built-in cputype '%s' is not defined (missing 'custom-' prefix?)" % cputype)
    if "reported-model" in parsed:
        param_error("cpu", "Property 'reported-model' not allowed in VM-specific CPU config.")
    if "flags" in parsed:
        entries = parsed["flags"].split(";")
        allowed = set(VM_FLAGS)
        if not knows_nested_virt():
            allowed.discard("nested-virt")
        for e in entries:
            m = re.match(r"^([+-])([a-zA-Z0-9\-_.]+)$", e)
            if not m or m.group(2) not in allowed:
                param_error("cpu", "VM-specific CPU flags must be a subset of: " + ", ".join(sorted(allowed)))
    if "hidden" in parsed and not re.match(r"^(1|0|on|off|yes|no|true|false)$", parsed["hidden"], re.I):
        param_error("cpu", "type check ('boolean') failed - got '%s'" % parsed["hidden"])
    if "phys-bits" in parsed:
        pb = parsed["phys-bits"]
        if not (pb == "host" or (re.match(r"^\d{1,2}$", pb) and 8 <= int(pb) <= 64)):
            param_error("cpu", "value must be an integer between 8 and 64 or 'host'")
    if "hv-vendor-id" in parsed and not re.match(r"^[a-zA-Z0-9]{1,12}$", parsed["hv-vendor-id"]):
        param_error("cpu", "value does not match the regex pattern")


def json_value(key, value):
    # qemu-server's parser turns booleans and integers into numbers; JSON prints them so.
    if re.match(r"^\d+$", value) and key != "name":
        return int(value)
    return value


def cmd_get(node, vmid, options):
    if options.get("output-format") != "json":
        fail("nestvirt's stand-in only prints --output-format json")
    conf = load(node, vmid)
    current = conf.current_with_pending()
    out = {k: json_value(k, v) for k, v in current.items()}
    if conf.description:
        out["description"] = "\n".join(conf.description)
    out["digest"] = conf.digest()
    # ensure_ascii: non-ASCII text as \uXXXX escapes, which the reader must decode.
    print(json.dumps(out, sort_keys=True))
    if os.environ.get("NESTVIRT_PVESH_RACE") == "1":
        with open(conf_path(vmid), "a", encoding="utf-8") as f:
            f.write("tags: changed-by-other-user\n")


def cmd_set(node, vmid, options):
    unknown = set(options) - {"cpu", "digest"}
    if unknown:
        param_error(sorted(unknown)[0], "property is not defined in schema and the schema does not allow additional properties")
    conf = load(node, vmid)
    if "digest" in options and options["digest"] != conf.digest():
        fail("checksum mismatch (file change by other user?)")
    if "cpu" not in options:
        fail("no options specified")
    check_cpu(options["cpu"])
    if conf.main.get("lock"):
        fail("VM is locked (%s)" % conf.main["lock"])

    conf.pending["cpu"] = options["cpu"]
    conf.delete = [k for k in conf.delete if k != "cpu"]
    # cleanup_pending: a pending value equal to the current one is no change.
    for k in [k for k, v in conf.pending.items() if conf.main.get(k) == v]:
        del conf.pending[k]
    if not running(vmid):
        # vmconfig_apply_pending: a stopped VM takes every pending change.
        conf.main.update(conf.pending)
        for k in conf.delete:
            conf.main.pop(k, None)
        conf.pending = {}
        conf.delete = []
    write_atomic(conf_path(vmid), conf.render())


def parse_options(args):
    options = {}
    i = 0
    while i < len(args):
        a = args[i]
        if not a.startswith("--") or i + 1 >= len(args):
            fail("400 unable to parse option '%s'" % a)
        options[a[2:]] = args[i + 1]
        i += 2
    return options


def main(argv):
    log_call(argv[1:])
    if len(argv) < 3 or argv[1] not in ("get", "set"):
        fail("nestvirt's stand-in knows 'pvesh get' and 'pvesh set' only")
    m = re.match(r"^/nodes/([^/]+)/qemu/(\d+)/config$", argv[2])
    if not m:
        fail("no such resource '%s'" % argv[2])
    node, vmid = m.groups()
    if node != this_node():
        fail("no such cluster node '%s'" % node)
    if not 100 <= int(vmid) <= 999999999:
        param_error("vmid", "value must have a minimum value of 100")
    options = parse_options(argv[3:])
    if argv[1] == "get":
        cmd_get(node, vmid, options)
    else:
        cmd_set(node, vmid, options)


if __name__ == "__main__":
    try:
        main(sys.argv)
    except PveError as e:
        sys.stderr.write(str(e).rstrip("\n") + "\n")
        sys.exit(255)
