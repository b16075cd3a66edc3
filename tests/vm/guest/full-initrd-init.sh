#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# /init of the full tier's initramfs: Debian's kernel has virtio and ext4 as modules, so load
# them, mount the image's root read-write and hand over to its systemd.
export PATH=/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in virtio_pci virtio_blk ext4; do
        modprobe "$m" || echo "initrd: modprobe $m failed"
done
n=0
while [ ! -b /dev/vda ] && [ $n -lt 100 ]; do
        sleep 0.1
        n=$((n + 1))
done
mkdir -p /newroot
if ! mount -t ext4 -o rw /dev/vda /newroot; then
        echo "NESTVIRT-TEST: FAIL initrd-mount-root: cannot mount /dev/vda"
        echo "NESTVIRT-TEST: DONE"
        poweroff -f
fi
mount --move /dev /newroot/dev
umount /proc /sys 2>/dev/null
exec switch_root /newroot /sbin/init
