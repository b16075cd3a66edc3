/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "host.h"

typedef struct ModuleWatch ModuleWatch;

typedef struct Daemon {
        sd_event *event;
        sd_bus *bus;
        NvHost *host; /* the snapshot every property read is served from */
        uint64_t idle_usec; /* exit after this long without work; 0: never */
        unsigned n_pending; /* calls waiting for polkit: no idle exit while any is */
        ModuleWatch *watch;
} Daemon;

int daemon_new(uint64_t idle_usec, Daemon **ret);
Daemon *daemon_free(Daemon *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Daemon *, daemon_free)

/* Connects to the system bus, exports the object and takes the name. */
int daemon_start(Daemon *d);
/* Runs until SIGTERM/SIGINT or until idle for idle_usec. */
int daemon_run(Daemon *d);
/* Finishes a reload that did not complete (the record in /run/nestvirt): at start and before
 * each change, so a failed rollback is retried by the next request. */
void daemon_recover(void);
/* Takes a new snapshot and announces what changed. */
int daemon_refresh(Daemon *d);
/* The same, handing over the VMs the new snapshot counted. */
int daemon_refresh_with_vms(Daemon *d, NvVmList *ret_vms);
