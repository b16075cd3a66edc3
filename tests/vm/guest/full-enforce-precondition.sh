#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Loads kvm_amd with nested=1 explicitly (the options on the command line come after those of
# modprobe.d, so they win). udev may have loaded it already during coldplug: then reload it.
udevadm settle --timeout=30 || true
if [ -d /sys/module/kvm_amd ]; then
        echo "kvm_amd was loaded at boot with nested=$(cat /sys/module/kvm_amd/parameters/nested); reloading"
        /sbin/modprobe -r kvm_amd || exit 1
fi
/sbin/modprobe kvm_amd nested=1 || exit 1
echo "precondition: kvm_amd nested=$(cat /sys/module/kvm_amd/parameters/nested)"
cat /sys/module/kvm_amd/parameters/nested >/run/nestvirt-test-precondition
