/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Calls back when kvm, kvm_intel or kvm_amd is loaded or unloaded by anyone. Listens to both the
 * udev and the kernel netlink groups: udevd may not run (early boot, containers, minimal systems),
 * and when it does the second copy of an event is one more "look again", which the listener
 * coalesces. The watcher knows nothing of who listens.
 */

#include <systemd/sd-event.h>

#include "util.h"

typedef struct ModuleWatch ModuleWatch;
typedef void (*ModuleWatchFn)(void *userdata);

int module_watch_new(sd_event *event, ModuleWatchFn fn, void *userdata, ModuleWatch **ret);
ModuleWatch *module_watch_free(ModuleWatch *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(ModuleWatch *, module_watch_free)
