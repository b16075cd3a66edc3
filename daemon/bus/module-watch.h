/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "daemon.h"

/*
 * Refreshes the snapshot when kvm, kvm_intel or kvm_amd is loaded or unloaded by anyone. Listens
 * to both the udev and the kernel netlink groups: udevd may not run (early boot, containers,
 * minimal systems), and when it does the second copy of an event finds nothing changed.
 */
int module_watch_start(Daemon *d);
void module_watch_stop(Daemon *d);
