/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Watches a set of host directories (through nv_host_path(), so NESTVIRT_ROOT applies: the
 * modprobe.d directories, Proxmox VE's config and pid directories) with inotify, and calls back
 * when a file whose name ends in one of the given suffixes may have changed in one of them:
 * written and closed, created, renamed into or out of the directory, or removed, and when a
 * directory itself appears, goes away or is renamed. A directory that does not
 * exist is waited for on its nearest existing parent, and watched itself once it appears.
 *
 * The callback says only "look again": it may come more than once for one change, and the watcher
 * knows nothing of who listens.
 */

#include <systemd/sd-event.h>

#include "util.h"

typedef struct DirWatch DirWatch;
typedef void (*DirWatchFn)(void *userdata);

/* description names the watch in log messages ("modprobe.d"). host_dirs and suffixes are
 * NULL-terminated; both are copied. */
int dir_watch_new(sd_event *event, const char *description, const char *const *host_dirs,
        const char *const *suffixes, DirWatchFn fn, void *userdata, DirWatch **ret);
DirWatch *dir_watch_free(DirWatch *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(DirWatch *, dir_watch_free)
