/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Watches every modprobe.d directory the host model reads (nv_modprobe_dirs, through
 * nv_host_path(), so NESTVIRT_ROOT applies) with inotify, and calls back when a *.conf file in one
 * of them may have changed: written and closed, created, renamed into or out of the directory, or
 * removed, and when a directory itself appears, goes away or is renamed. A directory that does not
 * exist is waited for on its nearest existing parent, and watched itself once it appears.
 *
 * The callback says only "look again": it may come more than once for one change, and the watcher
 * knows nothing of who listens.
 */

#include <systemd/sd-event.h>

#include "util.h"

typedef struct ModprobeWatch ModprobeWatch;
typedef void (*ModprobeWatchFn)(void *userdata);

int modprobe_watch_new(sd_event *event, ModprobeWatchFn fn, void *userdata, ModprobeWatch **ret);
ModprobeWatch *modprobe_watch_free(ModprobeWatch *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(ModprobeWatch *, modprobe_watch_free)
