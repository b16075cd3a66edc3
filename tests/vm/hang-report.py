#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Reports where a guest that did not finish in time is stuck, through QEMU's monitor.

    hang-report.py MONITOR_SOCKET CONSOLE_LOG

Run by lib.sh when a boot outlives its bound. It asks QEMU's human monitor for every vCPU's
registers twice (a vCPU that spins shows the same place again; the guests boot with nokaslr, so
addresses compare across runs), then asks the guest kernel, through magic SysRq keys on the
emulated keyboard, for its blocked tasks (w), all tasks (t) and the backtraces of all CPUs (l),
and finally injects an NMI: a guest booted with unknown_nmi_panic=1 panics and prints the stack of
the interrupted CPU with the kernel's own symbol names, even when that CPU spins with interrupts
off and no SysRq key gets through. Debian's kernel package ships no symbol table (its System.map
is a stub), so the kernel's own backtraces are the ones that name functions. What the guest
prints lands in CONSOLE_LOG; this script prints the monitor's answers and how much the console
grew. Every wait is bounded.
"""

import os
import re
import socket
import sys
import time

PROMPT = b"(qemu) "


class Monitor:
    def __init__(self, path, timeout):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self._until_prompt()

    def _until_prompt(self):
        while PROMPT not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("the QEMU monitor closed the connection")
            self.buf += chunk
        out, _, self.buf = self.buf.partition(PROMPT)
        return out.decode(errors="replace")

    def command(self, cmd):
        self.sock.sendall(cmd.encode() + b"\n")
        out = self._until_prompt()
        # The monitor echoes the command line first (with terminal escapes).
        lines = [re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", l) for l in out.splitlines()]
        return "\n".join(l for l in lines[1:] if l.strip())


def where(rip):
    return "kernel" if rip >= 0xFFFF800000000000 else "user space"


def console_size(log):
    try:
        return os.path.getsize(log)
    except OSError:
        return 0


def wait_console_quiet(log, most):
    """Waits until the console stops growing for a second, at most MOST seconds."""
    deadline = time.monotonic() + most
    last, quiet_since = console_size(log), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.25)
        size = console_size(log)
        if size != last:
            last, quiet_since = size, time.monotonic()
        elif time.monotonic() - quiet_since >= 1.0:
            return


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    sock, log = sys.argv[1], sys.argv[2]
    say = lambda s: print(f"hang-report: {s}", flush=True)

    try:
        mon = Monitor(sock, timeout=10)
    except (OSError, EOFError) as e:
        say(f"cannot reach the QEMU monitor at {sock}: {e}")
        return 1

    try:
        regs = mon.command("info registers -a")
        for cpu, rip in re.findall(r"CPU#(\d+)\s.*?RIP=([0-9a-f]+)", regs, re.S):
            say(f"vCPU {cpu}: RIP={rip} ({where(int(rip, 16))})")
        say("registers of every vCPU:")
        for line in regs.splitlines():
            print(f"    {line}")
        # A second look: a CPU that spins in one place shows the same function again.
        time.sleep(0.5)
        regs = mon.command("info registers -a")
        for cpu, rip in re.findall(r"CPU#(\d+)\s.*?RIP=([0-9a-f]+)", regs, re.S):
            say(f"vCPU {cpu} again: RIP={rip} ({where(int(rip, 16))})")

        before = console_size(log)
        for key in "wtl":
            mon.command(f"sendkey alt-sysrq-{key}")
            wait_console_quiet(log, 10)
        say(f"SysRq w, t, l: the guest printed {console_size(log) - before} bytes to its console")

        before = console_size(log)
        mon.command("nmi")
        wait_console_quiet(log, 10)
        say(f"NMI: the guest printed {console_size(log) - before} bytes to its console")
    except (OSError, EOFError) as e:
        say(f"the QEMU monitor stopped answering: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
