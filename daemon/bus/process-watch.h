/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Watches a set of processes through pidfds and calls back when one of them ends: how the daemon
 * learns that a VM stopped (and no longer holds KVM) without polling /proc. The set is replaced
 * after each refresh with the pids of the running VMs.
 */

#include <stddef.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "util.h"

typedef struct ProcessWatch ProcessWatch;
typedef void (*ProcessWatchFn)(void *userdata);

int process_watch_new(sd_event *event, ProcessWatchFn fn, void *userdata, ProcessWatch **ret);
ProcessWatch *process_watch_free(ProcessWatch *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(ProcessWatch *, process_watch_free)

/* Watches exactly pids (n of them) from now on: keeps the pidfds it has for them, opens the
 * missing ones, closes the rest. A pid that no longer exists is skipped: it ended already, and
 * the snapshot that listed it is being replaced. Returns 0, or -ENOMEM. */
int process_watch_set(ProcessWatch *w, const pid_t *pids, size_t n);
