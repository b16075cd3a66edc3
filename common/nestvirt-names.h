/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Values of the contract that are not D-Bus names: what NestedNextLoadSource and the sources in
 * NestedSettings say besides a file path, and the one file nestvirtd writes. */

/* The kernel command line decides. */
#define NV_SOURCE_KERNEL_CMDLINE "kernel-command-line"
/* Nothing sets nested: the module's built-in default applies. */
#define NV_SOURCE_KERNEL_DEFAULT "kernel-default"

/* The one modprobe.d file nestvirt owns. "zz-" sorts it after the files distributions and other
 * tools install: libkmod sorts all directories by file name, and "kvm.conf" or
 * "qemu-system-x86.conf" would beat a "99-" name. */
#define NV_DROPIN_PATH "/etc/modprobe.d/zz-nestvirt.conf"
