#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A stand-in for Proxmox VE's pvesh in the full tier's guest, where Proxmox VE cannot be
# installed. It answers the two calls nestvirtd makes for VM VMID of this node, on
# /etc/pve/qemu-server/VMID.conf (a plain file here, not pmxcfs):
#   get /nodes/NODE/qemu/VMID/config --output-format json   the cpu, name and the file's SHA-1
#   set /nodes/NODE/qemu/VMID/config --cpu CPU --digest D   replaces the cpu line, as PVE does
#                                                           for a VM that is not running
# and appends each call to /run/nestvirt-test/pvesh.log. nestvirtd runs it through systemd-run,
# outside its own sandbox, which could not write /etc/pve (tests/bus covers PVE's semantics with
# tests/pve/pvesh-standin.py; this one only proves the way there).
set -eu
mkdir -p /run/nestvirt-test
echo "$*" >>/run/nestvirt-test/pvesh.log
verb=$1 path=$2
vmid=$(echo "$path" | sed -n 's|^/nodes/[^/]*/qemu/\([0-9]*\)/config$|\1|p')
conf=/etc/pve/qemu-server/$vmid.conf
if [ -z "$vmid" ] || [ ! -f "$conf" ]; then
        echo "Configuration file '$path' does not exist" >&2
        exit 255
fi
digest=$(sha1sum "$conf" | cut -d' ' -f1)
case $verb in
get)
        printf '{"cpu":"%s","name":"%s","digest":"%s"}\n' "$(sed -n 's/^cpu: //p' "$conf")" \
                "$(sed -n 's/^name: //p' "$conf")" "$digest"
        ;;
set)
        [ "$3" = --cpu ] && [ "$5" = --digest ] || { echo "unexpected arguments: $*" >&2; exit 255; }
        [ "$6" = "$digest" ] || { echo "checksum mismatch (file change by other user?)" >&2; exit 255; }
        sed "s|^cpu: .*|cpu: $4|" "$conf" >"$conf.new"
        mv "$conf.new" "$conf"
        ;;
*)
        echo "unknown verb $verb" >&2
        exit 255
        ;;
esac
