/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Follows libvirt: one connection to nv_libvirt_uri(), domain lifecycle events on it, and
 * libvirt's own event loop carried by the daemon's sd-event loop (virEventRegisterImpl), so that
 * everything runs on the one thread. Nothing here wakes up while idle: no keepalive and no timer
 * of its own; when libvirt is not reachable, inotify on the directory of its socket says when to
 * try again (after a start-up, a few bounded retries cover the moment between the socket's
 * creation and the daemon listening on it). A URI naming a remote host is connected once and not
 * waited for.
 *
 * Single-threaded: libvirt's client library calls the event loop callbacks on the thread that
 * calls its API, which is the sd-event loop's.
 */

#include <libvirt/libvirt.h>
#include <systemd/sd-event.h>

#include "util.h"

typedef struct LibvirtWatch LibvirtWatch;
typedef void (*LibvirtWatchFn)(void *userdata);

/* Prepares libvirt's event loop implementation on e (once per process, before any connection;
 * -EBUSY for another loop later), connects to nv_libvirt_uri() if libvirt is reachable, and
 * subscribes to domain lifecycle events (defined, undefined, started, stopped, ...). fn is called
 * after each event, when the connection is lost, and when it comes back. A host without libvirt
 * is not an error: the watch waits. libvirt.so.0 is loaded (dlopen_libvirt()) at the first
 * attempt to connect, which for a local URI waits until its socket exists; without the library
 * the watch stays unconnected. */
int libvirt_watch_new(sd_event *e, LibvirtWatchFn fn, void *userdata, LibvirtWatch **ret);
LibvirtWatch *libvirt_watch_free(LibvirtWatch *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(LibvirtWatch *, libvirt_watch_free)
/* NULL while not connected. */
virConnectPtr libvirt_watch_connection(LibvirtWatch *w);
