#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Many clients calling at once: each client is a D-Bus connection of its own that sends all of
its calls before it reads any reply (they are pipelined on the socket), and every client sends
before any reply is awaited. Used by test_bad_input.py; root imports it, the test user runs it
under setpriv:

    nvflood.py TIMEOUT_S < CLIENTS-JSON

CLIENTS is a JSON list with, for each client, a list of requests in nvcall.py's form. The output
is one JSON object: {"replies": [[reply or null, ...], ...]} in the same shape, a reply in
nvcall.py's form and null for a call still unanswered when TIMEOUT_S ran out.

The bus is the system bus: DBUS_SYSTEM_BUS_ADDRESS.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nvcall  # noqa: E402
from gi.repository import GLib  # noqa: E402


def flood(address, clients, timeout):
    """Sends every request of every client, then dispatches replies until all are in or timeout
    (seconds) has passed. Returns the replies as described above (None: unanswered)."""
    ctx = GLib.MainContext.new()
    ctx.push_thread_default()
    conns = []
    try:
        # Every connection is up (Hello answered) before the first call goes out.
        conns = [nvcall.connect(address) for _ in clients]
        replies = [[None] * len(requests) for requests in clients]
        pending = [sum(len(requests) for requests in clients)]

        def finish(conn, res, where):
            i, j = where
            try:
                replies[i][j] = nvcall.reply_json(conn.call_finish(res))
            except GLib.Error as e:
                replies[i][j] = nvcall.error_json(e)
            pending[0] -= 1

        for i, (conn, requests) in enumerate(zip(conns, clients)):
            for j, req in enumerate(requests):
                conn.call(*nvcall.call_args(req), None, finish, (i, j))
        deadline = time.monotonic() + timeout
        while pending[0] > 0 and time.monotonic() < deadline:
            if not ctx.iteration(False):
                time.sleep(0.01)
        return replies
    finally:
        for conn in conns:
            try:
                conn.close_sync(None)
            except GLib.Error:
                pass
        ctx.pop_thread_default()


def main(argv):
    if len(argv) != 2:
        print('usage: %s TIMEOUT_S < CLIENTS-JSON' % argv[0], file=sys.stderr)
        return 2
    clients = json.load(sys.stdin)
    address = os.environ.get('DBUS_SYSTEM_BUS_ADDRESS', nvcall.SYSTEM_BUS_DEFAULT)
    try:
        replies = flood(address, clients, float(argv[1]))
    except GLib.Error as e:
        print('nvflood: %s' % e.message, file=sys.stderr)
        return 1
    json.dump({'replies': replies}, sys.stdout)
    sys.stdout.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
