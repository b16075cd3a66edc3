/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <inttypes.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>

#include "config.h"

#include "bus-errors.h"
#include "bus-host.h"
#include "bus-vm.h"
#include "daemon.h"
#include "dir-watch.h"
#include "host-path.h"
#include "log.h"
#include "module-reload.h"
#include "module-watch.h"
#include "nestvirt-bus.h"
#include "process-watch.h"
#if HAVE_LIBVIRT
#include "libvirt-vms.h"
#include "libvirt-watch.h"
#endif

/* A reload that did not finish (this or an earlier instance died, or a rollback failed) left a
 * record: load the module again before anything else looks at the host. */
void daemon_recover(void)
{
        _cleanup_free_ char *module = NULL;
        NvNested value = NV_NESTED_UNKNOWN;
        int r = nv_reload_recover(&module, &value);

        if (r < 0)
                log_error_errno(r, "Could not restore the module of an interrupted reload: %m");
        else if (r > 0)
                log_notice("Restored %s with nested %s after an interrupted reload.", module,
                        nv_nested_to_string(value));
}

static int on_refresh_event(sd_event_source *s, void *userdata)
{
        Daemon *d = userdata;

        (void) daemon_refresh_parts(d, d->pending_parts, NULL);
        return 0;
}

/* What the watchers call, each with the parts of the host it saw change: the refresh runs once
 * the loop has nothing more urgent to do, so a burst of events (a package unpacking files, udev
 * and kernel copies of one uevent) is one refresh, which reads what all of them saw. */
static void daemon_queue_refresh(Daemon *d, unsigned parts)
{
        int r;

        assert(d);

        d->pending_parts |= parts;
        r = sd_event_source_set_enabled(d->refresh_event, SD_EVENT_ONESHOT);
        if (r < 0)
                log_warning_errno(r, "Failed to queue a refresh, the next call sees the change: %m");
}

/* A module loaded or unloaded, or a modprobe.d file changed. */
static void on_module_change(void *userdata)
{
        daemon_queue_refresh(userdata, NV_HOST_PART_MODULE);
}

/* A Proxmox VE VM config or the custom CPU models changed. */
static void on_pve_config_change(void *userdata)
{
        daemon_queue_refresh(userdata, NV_HOST_PART_PVE);
}

/* A pid file came or went, or a VM's process ended. */
static void on_process_change(void *userdata)
{
        daemon_queue_refresh(userdata, NV_HOST_PART_PROCESSES);
}

#if HAVE_LIBVIRT
/* A domain was defined, started, stopped, ...: its process may have come or gone too. */
static void on_libvirt_change(void *userdata)
{
        daemon_queue_refresh(userdata, NV_HOST_PART_LIBVIRT | NV_HOST_PART_PROCESSES);
}
#endif

/* The watchers start before the first snapshot, so no change falls between the two. */
static int daemon_watch(Daemon *d)
{
        int r;

        assert(d);

        r = sd_event_add_defer(d->event, &d->refresh_event, on_refresh_event, d);
        if (r >= 0)
                r = sd_event_source_set_priority(d->refresh_event, SD_EVENT_PRIORITY_IDLE);
        if (r >= 0)
                r = sd_event_source_set_enabled(d->refresh_event, SD_EVENT_OFF);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the refresh event: %m");
        (void) sd_event_source_set_description(d->refresh_event, "refresh");

        r = module_watch_new(d->event, on_module_change, d, &d->module_watch);
        if (r < 0)
                return r;

        /* Out of inotify instances or watches (fs.inotify.max_user_*) is no reason not to serve:
         * the files are read again at the next call. */
        r = dir_watch_new(d->event, "modprobe.d", nv_modprobe_dirs, STRV(".conf"), on_module_change, d,
                &d->modprobe_watch);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                log_warning("Not watching modprobe.d; changes there are seen at the next call.");

        /* The directories are waited for where they are missing: a host may become a node. */
        r = dir_watch_new(d->event, "Proxmox VE configs", STRV(NV_PVE_CONFIG_DIR, NV_PVE_CPU_MODELS_DIR),
                STRV(".conf"), on_pve_config_change, d, &d->pve_watch);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                log_warning("Not watching Proxmox VE's configs; changes there are seen at the next call.");

        r = dir_watch_new(d->event, "Proxmox VE pid files", STRV(NV_PVE_PID_DIR), STRV(".pid"),
                on_process_change, d, &d->pve_pid_watch);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                log_warning(
                        "Not watching Proxmox VE's pid files; VMs that start are seen at the next call.");

        r = process_watch_new(d->event, on_process_change, d, &d->process_watch);
        if (r < 0)
                return r;

#if HAVE_LIBVIRT
        r = libvirt_watch_new(d->event, on_libvirt_change, d, &d->libvirt_watch);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                log_warning("Not following libvirt; its domains are read at the next call.");
#endif
        return 0;
}

/* One pidfd per running VM: a host with a thousand VMs needs more than the soft limit of 1024 that
 * services get by default. Nothing here uses select(), so the hard limit is safe, as systemd's
 * own services do it (rlimit_nofile_bump()). */
static void raise_fd_limit(void)
{
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
                return;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                log_warning_errno(-errno, "Could not raise the file descriptor limit: %m");
}

int daemon_new(uint64_t idle_usec, Daemon **ret)
{
        _cleanup_(daemon_freep) Daemon *d = NULL;
        int r;

        assert(ret);

        d = calloc(1, sizeof(Daemon));
        if (!d)
                return -ENOMEM;
        d->idle_usec = idle_usec;
        raise_fd_limit();
        d->cache = nv_host_cache_new();
        if (!d->cache)
                return -ENOMEM;

        daemon_recover();

        r = sd_event_default(&d->event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate the event loop: %m");

        /* SIGTERM and SIGINT end the loop cleanly (sd-event blocks them itself). */
        r = sd_event_set_signal_exit(d->event, true);
        if (r < 0)
                return log_error_errno(r, "Failed to watch SIGTERM and SIGINT: %m");

        r = daemon_watch(d);
        if (r < 0)
                return r;

        r = daemon_refresh(d);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(d);
        return 0;
}

Daemon *daemon_free(Daemon *d)
{
        if (!d)
                return NULL;
        module_watch_free(d->module_watch);
        dir_watch_free(d->modprobe_watch);
        dir_watch_free(d->pve_watch);
        dir_watch_free(d->pve_pid_watch);
        process_watch_free(d->process_watch);
#if HAVE_LIBVIRT
        libvirt_watch_free(d->libvirt_watch);
#endif
        sd_event_source_disable_unref(d->refresh_event);
        sd_bus_track_unref(d->subscribers);
        bus_polkit_queries_free(&d->polkit);
        sd_bus_flush_close_unref(d->bus);
        sd_event_unref(d->event);
        nv_host_free(d->host);
        nv_host_cache_free(d->cache);
        free(d);
        return NULL;
}

/* Longer than any object this daemon has or will have. */
#define OBJECT_PATH_MAX 1024

/* sd-bus looks an object path up prefix by prefix, in time quadratic in its length: a call at a
 * path of 64 KiB, which any local user may send, would keep the daemon busy for a second. Such a
 * call is answered before the lookup. */
static int filter_long_paths(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        const char *path;
        size_t l;

        if (sd_bus_message_is_method_call(m, NULL, NULL) <= 0)
                return 0;
        path = sd_bus_message_get_path(m);
        l = path ? strlen(path) : 0;
        if (l <= OBJECT_PATH_MAX)
                return 0;
        return sd_bus_error_setf(
                error, SD_BUS_ERROR_UNKNOWN_OBJECT, "No object has a path of %zu bytes.", l);
}

/* Exit sources run by priority: this one runs before the one sd_bus_attach_event() adds, which
 * flushes and closes the connection, so the answers still reach the callers. */
static int on_exit_answer_pending(sd_event_source *s, void *userdata)
{
        assert(userdata);
        Daemon *d = userdata;

        bus_polkit_queries_free(&d->polkit);
        return 0;
}

int daemon_start(Daemon *d, const sd_bus_vtable *vtable)
{
        sd_event_source *exit_source = NULL;
        int r;

        assert(d);
        assert(vtable);

        r = sd_bus_open_system(&d->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");

        r = sd_bus_add_filter(d->bus, NULL, filter_long_paths, d);
        if (r < 0)
                return log_error_errno(r, "Failed to add the bus filter: %m");

        r = sd_bus_add_object_vtable(d->bus, NULL, NESTVIRT_OBJECT_PATH, NESTVIRT_INTERFACE, vtable, d);
        if (r < 0)
                return log_error_errno(r, "Failed to export " NESTVIRT_OBJECT_PATH ": %m");

        r = bus_vm_register(d);
        if (r < 0)
                return r;

        r = sd_bus_error_add_map(nv_bus_errors);
        if (r < 0)
                return log_error_errno(r, "Failed to register the error map: %m");

        r = sd_bus_request_name(d->bus, NESTVIRT_BUS_NAME, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to acquire " NESTVIRT_BUS_NAME ": %m");

        /* Without the bus there is nothing to serve: end the loop instead of lingering. */
        r = sd_bus_set_exit_on_disconnect(d->bus, true);
        if (r < 0)
                return log_error_errno(r, "Failed to set exit on disconnect: %m");

        r = sd_bus_attach_event(d->bus, d->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");

        /* Calls still waiting for polkit when the loop ends get a refusal, not silence. */
        r = sd_event_add_exit(d->event, &exit_source, on_exit_answer_pending, d);
        if (r >= 0)
                r = sd_event_source_set_priority(exit_source, SD_EVENT_PRIORITY_IMPORTANT);
        if (r >= 0)
                r = sd_event_source_set_floating(exit_source, true);
        sd_event_source_unref(exit_source);
        if (r < 0)
                return log_error_errno(r, "Failed to watch for the end of the event loop: %m");

        (void) sd_notifyf(false, "READY=1\nSTATUS=Serving %s (nested %s).", strempty(d->host->module),
                nv_nested_to_string(d->host->nested));
        return 0;
}

static struct _virConnect *daemon_libvirt_connection(Daemon *d)
{
#if HAVE_LIBVIRT
        return d->libvirt_watch ? libvirt_watch_connection(d->libvirt_watch) : NULL;
#else
        return NULL;
#endif
}

static int watch_vm_processes(Daemon *d)
{
        const NvInventory *inv = &d->host->inventory;
        _cleanup_free_ pid_t *pids = calloc(inv->n_vms + 1, sizeof(pid_t));
        size_t n = 0;

        if (!pids)
                return -ENOMEM;
        for (size_t i = 0; i < inv->n_vms; i++)
                if (inv->vms[i].config.running && inv->vms[i].config.pid > 0)
                        pids[n++] = inv->vms[i].config.pid;
        return process_watch_set(d->process_watch, pids, n);
}

int daemon_refresh(Daemon *d)
{
        assert(d);
        return daemon_refresh_parts(d, NV_HOST_PARTS_ALL, NULL);
}

int daemon_refresh_with_vms(Daemon *d, NvVmList *ret_vms)
{
        assert(d);
        return daemon_refresh_parts(d, NV_HOST_PARTS_ALL, ret_vms);
}

int daemon_refresh_parts(Daemon *d, unsigned parts, NvVmList *ret_vms)
{
        _cleanup_(nv_host_freep) NvHost *old = NULL;
        NvHost *h;
        int r;

        assert(d);

        /* Whatever a watcher saw until now, this snapshot sees too. */
        (void) sd_event_source_set_enabled(d->refresh_event, SD_EVENT_OFF);
        parts |= d->pending_parts;
        d->pending_parts = 0;

        r = nv_host_load_cached(d->cache, d->host, parts, daemon_libvirt_connection(d), &h, ret_vms);
        if (r < 0)
                return log_error_errno(r, "Failed to read the host's state: %m");

        old = d->host;
        d->host = h;
        if (old) {
                r = bus_host_emit_changes(d->bus, old, d->host);
                if (r >= 0)
                        r = bus_vm_emit_changes(d->bus, &old->inventory, &d->host->inventory);
                if (r < 0)
                        log_warning_errno(r, "Failed to announce property changes: %m");
        }

        r = watch_vm_processes(d);
        if (r < 0)
                log_warning_errno(r, "Failed to watch the VMs' processes, VMs that stop are seen later: %m");
        return 0;
}

static int on_pvestatd_restarted(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        const sd_bus_error *e = sd_bus_message_get_error(m);

        if (e)
                log_warning("Could not restart pvestatd, Proxmox VE may show old CPU flags until it "
                            "restarts: %s",
                        e->message ?: e->name);
        else
                log_info("Restarted pvestatd, so that Proxmox VE sees the new CPU flags.");
        return 0;
}

void daemon_notify_managers(Daemon *d)
{
        int r;

        assert(d);

        /* pvestatd reads the host's CPU flags once, when it starts, and reports them to the
         * cluster: without a restart the GUI keeps offering (or refusing) nested-virt as before.
         * try-restart leaves a stopped pvestatd alone. The answer is not waited for. */
        if (d->host->inventory.pve.present) {
                r = sd_bus_call_method_async(d->bus, NULL, "org.freedesktop.systemd1",
                        "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "TryRestartUnit",
                        on_pvestatd_restarted, d, "ss", "pvestatd.service", "replace");
                if (r < 0)
                        log_warning_errno(r, "Could not ask systemd to restart pvestatd: %m");
        }

#if HAVE_LIBVIRT
        /* libvirt caches what KVM offers; say so when its host-model CPU did not follow. */
        virConnectPtr conn = daemon_libvirt_connection(d);
        if (conn && d->host->nested != NV_NESTED_UNKNOWN) {
                bool on = d->host->nested == NV_NESTED_ENABLED;
                r = nv_libvirt_host_model_offers(conn, d->host->cpu.vendor);
                if (r >= 0 && r != on)
                        log_warning("libvirt's host-model CPU %s %s although nesting is %s: its capability "
                                    "cache "
                                    "is older than the change. Restart libvirtd (or virtqemud).",
                                r ? "still offers" : "does not offer",
                                d->host->cpu.vendor == NV_VENDOR_AMD ? "svm" : "vmx", on ? "on" : "off");
        }
#endif
}

/*
 * Waits for work; when none arrived for idle_usec, gives up the name and drains what is still
 * queued. A call made after the name is released starts a new instance through activation.
 */
int daemon_run(Daemon *d)
{
        bool exiting = false;
        int r;

        assert(d);

        for (;;) {
                uint64_t timeout = d->idle_usec > 0 ? d->idle_usec : UINT64_MAX;

                if (sd_event_get_state(d->event) == SD_EVENT_FINISHED)
                        break;

                /* While someone authenticates or watches, the daemon cannot be idle, so it sleeps
                 * until an event comes instead of waking up every idle timeout to check: the
                 * polkit answer, a subscriber leaving (the bus tells) or a watcher are events. */
                if (exiting)
                        timeout = 0;
                else if (d->polkit.n_pending > 0 || sd_bus_track_count(d->subscribers) > 0)
                        timeout = UINT64_MAX;

                r = sd_event_run(d->event, timeout);
                if (r < 0)
                        return log_error_errno(r, "Event loop failed: %m");
                if (r > 0)
                        continue;
                if (exiting)
                        break;

                log_info("Idle for %" PRIu64 " s, exiting.", d->idle_usec / 1000000);
                (void) sd_notify(false, "STOPPING=1\nSTATUS=Exiting after idle timeout.");
                r = sd_bus_release_name(d->bus, NESTVIRT_BUS_NAME);
                if (r < 0)
                        return log_error_errno(r, "Failed to release " NESTVIRT_BUS_NAME ": %m");
                exiting = true;
        }

        (void) sd_notify(false, "STOPPING=1");
        return 0;
}
