/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <signal.h>
#include <systemd/sd-daemon.h>

#include "config.h"

#include "bus-errors.h"
#include "bus-host.h"
#include "bus-object.h"
#include "daemon.h"
#include "log.h"
#include "module-reload.h"
#include "module-watch.h"

/* A reload that did not finish (this or an earlier instance died, or a rollback failed) left a
 * record: load the module again before anything else looks at the host. */
void daemon_recover(void)
{
        _cleanup_free_ char *module = NULL;
        NvNested value = NV_NESTED_UNKNOWN;
        int r = nv_reload_recover(&module, &value);

        if (r < 0)
                log_error("Could not restore the module of an interrupted reload: %s", strerror(-r));
        else if (r > 0)
                log_notice("Restored %s with nested %s after an interrupted reload.", module,
                        nv_nested_to_string(value));
}

int daemon_new(uint64_t idle_usec, Daemon **ret)
{
        _cleanup_(daemon_freep) Daemon *d = NULL;
        int r;

        d = calloc(1, sizeof(Daemon));
        if (!d)
                return -ENOMEM;
        d->idle_usec = idle_usec;

        daemon_recover();

        r = nv_host_load(&d->host);
        if (r < 0)
                return log_error_errno(r, "Failed to read the host's state");

        r = sd_event_default(&d->event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate the event loop");

        /* SIGTERM and SIGINT end the loop cleanly; they must be blocked to reach sd-event. */
        sigset_t ss;
        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0)
                return log_error_errno(-errno, "Failed to block signals");
        r = sd_event_add_signal(d->event, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(d->event, NULL, SIGINT, NULL, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to watch signals");

        *ret = TAKE_PTR(d);
        return 0;
}

Daemon *daemon_free(Daemon *d)
{
        if (!d)
                return NULL;
        module_watch_stop(d);
        sd_bus_flush_close_unref(d->bus);
        sd_event_unref(d->event);
        nv_host_free(d->host);
        free(d);
        return NULL;
}

int daemon_start(Daemon *d)
{
        int r;

        r = sd_bus_open_system(&d->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus");

        r = sd_bus_add_object_vtable(
                d->bus, NULL, NESTVIRT_OBJECT_PATH, NESTVIRT_INTERFACE, nv_object_vtable, d);
        if (r < 0)
                return log_error_errno(r, "Failed to export " NESTVIRT_OBJECT_PATH);

        r = sd_bus_error_add_map(nv_bus_errors);
        if (r < 0)
                return log_error_errno(r, "Failed to register the error map");

        r = sd_bus_request_name(d->bus, NESTVIRT_BUS_NAME, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to acquire " NESTVIRT_BUS_NAME);

        /* Without the bus there is nothing to serve: end the loop instead of lingering. */
        r = sd_bus_set_exit_on_disconnect(d->bus, true);
        if (r < 0)
                return log_error_errno(r, "Failed to set exit on disconnect");

        r = sd_bus_attach_event(d->bus, d->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop");

        r = module_watch_start(d);
        if (r < 0)
                return r;

        (void) sd_notifyf(false, "READY=1\nSTATUS=Serving %s (nested %s).", strempty(d->host->module),
                nv_nested_to_string(d->host->nested));
        return 0;
}

int daemon_refresh(Daemon *d)
{
        return daemon_refresh_with_vms(d, NULL);
}

int daemon_refresh_with_vms(Daemon *d, NvVmList *ret_vms)
{
        _cleanup_(nv_host_freep) NvHost *old = NULL;
        NvHost *h;
        int r;

        r = nv_host_load_with_vms(&h, ret_vms);
        if (r < 0)
                return log_error_errno(r, "Failed to read the host's state");

        old = d->host;
        d->host = h;
        r = bus_host_emit_changes(d->bus, old, d->host);
        if (r < 0)
                log_warning("Failed to announce property changes: %s", strerror(-r));
        return 0;
}

/*
 * Waits for work; when none arrived for idle_usec, gives up the name and drains what is still
 * queued. A call made after the name is released starts a new instance through activation.
 */
int daemon_run(Daemon *d)
{
        bool exiting = false;
        int r;

        for (;;) {
                if (sd_event_get_state(d->event) == SD_EVENT_FINISHED)
                        break;

                r = sd_event_run(d->event, exiting ? 0 : d->idle_usec > 0 ? d->idle_usec : UINT64_MAX);
                if (r < 0)
                        return log_error_errno(r, "Event loop failed");
                if (r > 0)
                        continue;
                if (exiting)
                        break;
                if (d->n_pending > 0)
                        continue; /* someone is still authenticating */

                log_info("Idle for %" PRIu64 " s, exiting.", d->idle_usec / 1000000);
                (void) sd_notify(false, "STOPPING=1\nSTATUS=Exiting after idle timeout.");
                r = sd_bus_release_name(d->bus, NESTVIRT_BUS_NAME);
                if (r < 0)
                        return log_error_errno(r, "Failed to release " NESTVIRT_BUS_NAME);
                exiting = true;
        }

        (void) sd_notify(false, "STOPPING=1");
        return 0;
}
