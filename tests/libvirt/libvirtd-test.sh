#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A private libvirtd for the integration tests, as root without systemd:
#
#   libvirtd-test.sh run PROGRAM [ARGS...]   start one, run PROGRAM against it, stop it
#   libvirtd-test.sh start DIR | stop DIR    (used by PROGRAM through $NV_LIBVIRTD_CTL, and by
#                                            the bus tests; start sets DIR up when it is new)
#
# It runs in a mount namespace of its own so that nothing of the host's libvirt state is read or
# written: tmpfs over /run, /var/lib and /var/cache, DIR/etc over /etc/libvirt (its qemu.conf
# runs QEMU as root, without security driver, cgroups, namespaces or virtlogd), DIR/root/run/libvirt
# over /run/libvirt (so pid files can be read through NESTVIRT_ROOT=DIR/root), and copies of
# /etc/passwd and /etc/group with the libvirt-qemu user libvirt's QEMU driver looks up at start.
# The clients outside the namespace use the socket DIR/sock/libvirt-sock.
#
# Exit status 77 (skip) when not root or libvirtd is missing.
set -eu

LIBVIRTD=${LIBVIRTD:-/usr/sbin/libvirtd}
# Bound on waiting for the socket: libvirtd starts in well under a second here.
WAIT_SECONDS=${NV_LIBVIRTD_WAIT:-30}

setup() {
        dir=$1
        mkdir -p "$dir/etc" "$dir/sock" "$dir/root/run/libvirt" "$dir/log"
        [ -f /etc/libvirt/libvirt.conf ] && cp /etc/libvirt/libvirt.conf "$dir/etc/"
        cat >"$dir/etc/qemu.conf" <<EOF
user = "root"
group = "root"
dynamic_ownership = 0
security_driver = "none"
namespaces = [ ]
cgroup_controllers = [ ]
stdio_handler = "file"
EOF
        cat >"$dir/libvirtd.conf" <<EOF
listen_tcp = 0
listen_tls = 0
unix_sock_dir = "$dir/sock"
unix_sock_group = "root"
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "3:file:$dir/log/libvirtd.log"
EOF
        cp /etc/passwd "$dir/passwd"
        cp /etc/group "$dir/group"
        grep -q '^libvirt-qemu:' "$dir/passwd" ||
                echo 'libvirt-qemu:x:64055:64055:libvirt QEMU:/nonexistent:/usr/sbin/nologin' >>"$dir/passwd"
        grep -q '^libvirt-qemu:' "$dir/group" || echo 'libvirt-qemu:x:64055:' >>"$dir/group"
}

start() {
        dir=$1
        [ -f "$dir/libvirtd.conf" ] || setup "$dir"
        rm -f "$dir/sock/libvirt-sock"
        # The namespace's mounts go away with its last process: libvirtd, or QEMU it started.
        unshare -m --propagation private sh -c '
                set -e
                d=$1
                mount -t tmpfs tmpfs /run
                mkdir /run/libvirt
                mount --bind "$d/root/run/libvirt" /run/libvirt
                mount -t tmpfs tmpfs /var/lib
                mount -t tmpfs tmpfs /var/cache
                mount --bind "$d/etc" /etc/libvirt
                mount --bind "$d/passwd" /etc/passwd
                mount --bind "$d/group" /etc/group
                exec "$2" --config "$d/libvirtd.conf" --pid-file "$d/libvirtd.pid"
        ' sh "$dir" "$LIBVIRTD" >>"$dir/log/stderr" 2>&1 &
        echo $! >"$dir/unshare.pid"

        # Waits for the socket and for libvirtd to answer on it, bounded.
        i=0
        while ! virsh -q -c "qemu:///system?socket=$dir/sock/libvirt-sock" version >/dev/null 2>&1; do
                if ! kill -0 "$(cat "$dir/unshare.pid")" 2>/dev/null; then
                        echo "libvirtd exited before $dir/sock/libvirt-sock answered:" >&2
                        cat "$dir/log/stderr" "$dir/log/libvirtd.log" >&2 || true
                        return 1
                fi
                i=$((i + 1))
                if [ "$i" -gt $((WAIT_SECONDS * 10)) ]; then
                        echo "libvirtd did not answer on $dir/sock/libvirt-sock within ${WAIT_SECONDS}s" >&2
                        cat "$dir/log/libvirtd.log" >&2 || true
                        return 1
                fi
                sleep 0.1
        done
}

stop() {
        dir=$1
        uri="qemu:///system?socket=$dir/sock/libvirt-sock"
        # QEMU processes first: they would keep the namespace (and its mounts) alive.
        for d in $(virsh -q -c "$uri" list --name 2>/dev/null); do
                virsh -q -c "$uri" destroy "$d" >/dev/null 2>&1 || true
        done
        [ -f "$dir/unshare.pid" ] || return 0
        pid=$(cat "$dir/unshare.pid")
        kill "$pid" 2>/dev/null || true
        i=0
        while kill -0 "$pid" 2>/dev/null; do
                i=$((i + 1))
                if [ "$i" -gt $((WAIT_SECONDS * 10)) ]; then
                        echo "libvirtd (pid $pid) did not exit within ${WAIT_SECONDS}s; killing it" >&2
                        kill -9 "$pid" 2>/dev/null || true
                        break
                fi
                sleep 0.1
        done
        rm -f "$dir/unshare.pid"
}

case "${1:-}" in
start)
        start "$2"
        ;;
stop)
        stop "$2"
        ;;
run)
        shift
        if [ "$(id -u)" != 0 ] || [ ! -x "$LIBVIRTD" ] || ! command -v virsh >/dev/null; then
                echo "needs root, $LIBVIRTD and virsh" >&2
                exit 77
        fi
        dir=$(mktemp -d /tmp/nv-libvirtd.XXXXXX)
        trap 'stop "$dir"; rm -rf "$dir"' EXIT
        trap 'exit 1' INT TERM
        setup "$dir"
        start "$dir"
        export NV_LIBVIRTD_DIR="$dir"
        export NV_LIBVIRTD_CTL="$0"
        export NESTVIRT_LIBVIRT_URI="qemu:///system?socket=$dir/sock/libvirt-sock"
        export NESTVIRT_ROOT="$dir/root"
        rc=0
        "$@" || rc=$?
        if [ "$rc" != 0 ]; then
                echo "--- libvirtd log ---" >&2
                tail -n 40 "$dir/log/libvirtd.log" >&2 || true
        fi
        exit "$rc"
        ;;
*)
        echo "usage: $0 run PROGRAM [ARGS...] | start DIR | stop DIR" >&2
        exit 2
        ;;
esac
