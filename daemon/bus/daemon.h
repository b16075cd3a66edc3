/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus-polkit.h"
#include "host.h"

typedef struct DirWatch DirWatch;
typedef struct LibvirtWatch LibvirtWatch;
typedef struct ModuleWatch ModuleWatch;
typedef struct ProcessWatch ProcessWatch;

typedef struct Daemon {
        sd_event *event;
        sd_bus *bus;
        NvHost *host; /* the snapshot every property read is served from; only daemon_refresh*() write it */
        uint64_t idle_usec; /* exit after this long without work; 0: never */
        BusPolkit polkit; /* calls waiting for polkit: no idle exit while any is */
        ModuleWatch *module_watch; /* module loads and unloads */
        DirWatch *modprobe_watch; /* the modprobe.d directories */
        DirWatch *pve_watch; /* Proxmox VE's VM configs and custom CPU models */
        DirWatch *pve_pid_watch; /* Proxmox VE's pid files: VMs that start or stop */
        LibvirtWatch *libvirt_watch; /* libvirt's connection and domain events; NULL without libvirt */
        ProcessWatch *process_watch; /* the running VMs' processes, to see them end */
        sd_event_source *refresh_event; /* the refresh the watchers ask for, once per loop iteration */
        unsigned pending_parts; /* NvHostPart bits the watchers saw change since the last refresh */
        NvHostCache *cache; /* what the snapshot was made of: the parts a refresh does not read again */
        sd_bus_track *subscribers; /* clients that called Subscribe(): no idle exit while any is */
} Daemon;

int daemon_new(uint64_t idle_usec, Daemon **ret);
Daemon *daemon_free(Daemon *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Daemon *, daemon_free)

/* Connects to the system bus, exports vtable (with d as userdata) and takes the name. */
int daemon_start(Daemon *d, const sd_bus_vtable *vtable);
/* Runs until SIGTERM/SIGINT or until idle for idle_usec with no call waiting for polkit and no
 * subscriber connected. */
int daemon_run(Daemon *d);
/* Finishes a reload that did not complete (the record in /run/nestvirt): at start and before
 * each change, so a failed rollback is retried by the next request. */
void daemon_recover(void);
/*
 * The one writer of the snapshot: takes a new one and emits PropertiesChanged for what differs from
 * the old one. Methods call it before they reply, so their changes are announced first. It also
 * settles a refresh the watchers asked for and that has not run yet.
 */
int daemon_refresh(Daemon *d);
/* The same, handing over the VMs the new snapshot counted. */
int daemon_refresh_with_vms(Daemon *d, NvVmList *ret_vms);
/* The same, reading again only the parts (NvHostPart bits) named here or by a watcher since the
 * last refresh; the rest is taken over from the last snapshot. Calls that answer with the host as
 * it is now use daemon_refresh(), which reads everything (PVE configs whose files did not change
 * are still not parsed again); the watchers' refreshes name what they saw. ret_vms may be NULL. */
int daemon_refresh_parts(Daemon *d, unsigned parts, NvVmList *ret_vms);
/* After a live change of host nesting: tells the VM managers' caches (Proxmox VE's pvestatd) that
 * the CPU flags changed. */
void daemon_notify_managers(Daemon *d);
