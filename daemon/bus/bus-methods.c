/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <inttypes.h>

#include "audit.h"
#include "bus-auth.h"
#include "bus-errors.h"
#include "bus-methods.h"
#include "bus-polkit.h"
#include "daemon.h"
#include "dropin.h"
#include "kvm-holders.h"
#include "log.h"
#include "module-reload.h"

/*
 * Each handler reads in one order, as systemd's hostnamed does: read the arguments, refresh the
 * snapshot, no-op fast path, validate, polkit, change, emit, reply. While polkit decides the
 * handler returns 1; it is called again with the same message once polkit answered and goes
 * through the same steps, so it looks at the host as it is by then: a request that someone else
 * satisfied meanwhile does nothing, one that became impossible is refused. The daemon is
 * single-threaded and a change runs to its end within one call of a handler, so changes never
 * overlap. Every refusal past the arguments is audited once, where it is decided: here, or in
 * bus-polkit.c for polkit's.
 */

/* The refresh step: finishes a reload that an earlier change left half done, then takes a new
 * snapshot (which announces what changed since the last one). */
static void refresh(Daemon *d)
{
        daemon_recover();
        (void) daemon_refresh(d);
}

static int reply_state(sd_bus_message *m, const NvHost *h)
{
        return sd_bus_reply_method_return(m, "sss", nv_nested_to_string(h->nested),
                nv_nested_to_string(h->config.next_load), strempty(h->config.source));
}

/* A built-in module takes its parameters from the kernel command line alone. */
static int set_builtin(const NvHost *h, NvNested want, sd_bus_error *error)
{
        return sd_bus_error_setf(error, NV_ERROR_BUILTIN,
                "%s is built into the kernel: neither a reload nor modprobe.d changes it. Add %s.nested=%d "
                "to "
                "the kernel command line and reboot.",
                h->module, h->module, want == NV_NESTED_ENABLED ? 1 : 0);
}

/* Refusals that do not depend on who asks, for a live change of h's module. */
static int check_runtime_possible(const NvHost *h, NvNested want, sd_bus_error *error)
{
        if (!nv_cpu_info_hardware_support(&h->cpu))
                return sd_bus_error_setf(error, NV_ERROR_NOT_SUPPORTED,
                        "This CPU does not offer %s to KVM%s; nested virtualization cannot run here.",
                        h->cpu.vendor == NV_VENDOR_AMD ? "svm" : "vmx",
                        h->virt.guest ? " (the hypervisor does not expose it to this guest)"
                                      : " (or the firmware disabled it)");
        if (h->module_state == NV_MODULE_BUILTIN)
                return set_builtin(h, want, error);
        if (h->modules_disabled)
                return sd_bus_error_setf(error, NV_ERROR_MODULES_DISABLED,
                        "kernel.modules_disabled=1: modules cannot be loaded or unloaded until the next "
                        "boot.");
        if (h->module_state == NV_MODULE_UNAVAILABLE)
                return sd_bus_error_setf(error, NV_ERROR_NOT_SUPPORTED, "%s is not installed for kernel %s.",
                        h->module, strempty(h->kernel_release));
        return 0;
}

static int set_vms_running(const char *module, sd_bus_error *error)
{
        _cleanup_strv_free_ char **holders = NULL;
        _cleanup_free_ char *list = NULL;
        size_t len = 0;

        if (nv_kvm_holders(&holders) >= 0)
                for (char **h = holders; *h; h++)
                        len += strlen(*h) + 2;
        list = calloc(1, len + 1);
        for (char **h = holders; list && h && *h; h++) {
                if (*list)
                        strcat(list, ", ");
                strcat(list, *h);
        }
        return sd_bus_error_setf(error, NV_ERROR_VMS_RUNNING,
                "%s is in use: %s. Shut the VMs down, then try again.", module,
                isempty(list) ? "held by processes that /proc does not show" : list);
}

/* Performs the live part; on failure sets error and returns < 0. */
static int do_reload(Daemon *d, NvNested want, sd_bus_error *error)
{
        const char *module = d->host->module;
        _cleanup_free_ char *text = NULL;
        NvReloadResult res;
        int r;

        r = nv_module_reload(module, want, &res);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Could not reload %s: %m", module);

        text = nv_reload_result_describe(module, want, &res);
        switch (res.status) {
        case NV_RELOAD_DONE:
                log_info("%s", strempty(text));
                return 0;
        case NV_RELOAD_IN_USE:
                return set_vms_running(module, error);
        case NV_RELOAD_BUILTIN:
        case NV_RELOAD_MODULES_DISABLED:
        case NV_RELOAD_UNAVAILABLE:
                return check_runtime_possible(d->host, want, error) ?: -EIO;
        case NV_RELOAD_UNLOAD_FAILED:
        case NV_RELOAD_FAILED:
        default:
                log_error("%s", strempty(text));
                return sd_bus_error_setf(error, NV_ERROR_RELOAD_FAILED, "%s", strempty(text));
        }
}

static const char *flags_text(uint64_t flags)
{
        switch (flags & (NV_SET_RUNTIME | NV_SET_PERSISTENT)) {
        case NV_SET_RUNTIME:
                return "runtime";
        case NV_SET_PERSISTENT:
                return "persistent";
        default:
                return "runtime+persistent";
        }
}

/* "live=enabled next=disabled": the state an audit record shows before and after. */
static char *host_state(const NvHost *h)
{
        char *s;
        if (asprintf(&s, "live=%s next=%s", nv_nested_to_string(h->nested),
                    nv_nested_to_string(h->config.next_load)) < 0)
                return NULL;
        return s;
}

static char *set_nested_request(NvNested want, uint64_t flags)
{
        char *s;
        if (asprintf(&s, "SetNested(%s, %s)", nv_nested_to_string(want), flags_text(flags)) < 0)
                return NULL;
        return s;
}

static void audit_set_nested(const AuditCaller *caller, NvNested want, uint64_t flags, const char *old,
        const NvHost *now, const char *outcome)
{
        _cleanup_free_ char *request = set_nested_request(want, flags), *new = host_state(now);
        audit_change(caller, strempty(request), strempty(old), new ?: strempty(old), outcome);
}

/* Turning nesting off breaks the next start of every VM configured to require it. */
static int check_requiring_vms(const NvHost *h, NvNested want, uint64_t flags, sd_bus_error *error)
{
        _cleanup_free_ char *list = NULL;
        size_t n;

        if (want != NV_NESTED_DISABLED || (flags & NV_SET_IGNORE_REQUIRING_VMS))
                return 0;
        list = nv_inventory_requiring_text(&h->inventory, &n);
        if (n == 0)
                return 0;
        if (!list)
                return -ENOMEM;
        return sd_bus_error_setf(error, NV_ERROR_VMS_REQUIRE_NESTING,
                "%s configured to require %s: %s would not start with nesting off. Hide the extension from "
                "%s first, or turn nesting off anyway (flag ignore-requiring-vms).",
                n == 1 ? "A VM is" : "VMs are", h->cpu.vendor == NV_VENDOR_AMD ? "svm" : "vmx", list,
                n == 1 ? "it" : "them");
}

/* Refusals of a SetNested that would change something, before anyone is asked. */
static int check_set_nested(const NvHost *h, NvNested want, uint64_t flags, bool live_change,
        bool persistent_change, sd_bus_error *error)
{
        int r;

        if (!h->module)
                return sd_bus_error_setf(error, NV_ERROR_NOT_SUPPORTED,
                        "This CPU (vendor %s) has no KVM module.",
                        isempty(h->cpu.vendor_id) ? "unknown" : h->cpu.vendor_id);
        r = check_requiring_vms(h, want, flags, error);
        if (r < 0)
                return r;
        if (live_change)
                return check_runtime_possible(h, want, error);
        /* A drop-in the module ignores would only mislead whoever reads it later. */
        if (persistent_change && h->module_state == NV_MODULE_BUILTIN)
                return set_builtin(h, want, error);
        return 0;
}

int method_set_nested(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        Daemon *d = userdata;
        _cleanup_free_ char *saved = NULL, *old = NULL;
        bool live_change, persistent_change, wrote_dropin = false;
        const char *details[9];
        AuditCaller caller;
        uint64_t flags;
        int enabled, r;
        NvNested want;

        assert(m);
        assert(d);

        /* Arguments. */
        r = sd_bus_message_read(m, "bt", &enabled, &flags);
        if (r < 0)
                return r;
        if (flags & ~(NV_SET_ALL | NV_SET_IGNORE_REQUIRING_VMS))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown flags 0x%" PRIx64 ".",
                        flags & ~(NV_SET_ALL | NV_SET_IGNORE_REQUIRING_VMS));
        if (!(flags & NV_SET_ALL))
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                        "Nothing to change: set runtime (1), persistent (2) or both.");
        want = enabled ? NV_NESTED_ENABLED : NV_NESTED_DISABLED;

        refresh(d);

        /* Nothing to do: success at once, without authorization. */
        live_change = (flags & NV_SET_RUNTIME) && d->host->nested != want;
        /* A built-in module ignores the drop-in: what counts is the value of its next boot. */
        if (d->host->module_state == NV_MODULE_BUILTIN)
                persistent_change = (flags & NV_SET_PERSISTENT) && d->host->config.next_load != want;
        else
                persistent_change = (flags & NV_SET_PERSISTENT) && !nv_dropin_matches(want);
        if (d->host->module && !live_change && !persistent_change)
                return reply_state(m, d->host);

        caller = bus_polkit_caller(&d->polkit, m);
        old = host_state(d->host);
        r = check_set_nested(d->host, want, flags, live_change, persistent_change, error);
        if (r < 0) {
                audit_set_nested(&caller, want, flags, old, d->host, error->message);
                return r;
        }

        details[0] = "enabled";
        details[1] = enabled ? "true" : "false";
        details[2] = "runtime";
        details[3] = flags & NV_SET_RUNTIME ? "true" : "false";
        details[4] = "persistent";
        details[5] = flags & NV_SET_PERSISTENT ? "true" : "false";
        details[6] = "module";
        details[7] = d->host->module;
        details[8] = NULL;
        /* A live change is the larger power; it covers the drop-in written in the same call. */
        r = bus_verify(d, m, method_set_nested,
                flags & NV_SET_RUNTIME ? "SetNested/runtime" : "SetNested/persistent", details, &caller,
                error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit decides; we are called again with its answer */

        /* Persistent first: it is the part that can be undone exactly if the live part fails. */
        if (persistent_change) {
                r = nv_dropin_save(&saved);
                if (r >= 0)
                        r = nv_dropin_write(want);
                if (r < 0) {
                        sd_bus_error_set_errnof(error, r, "Could not write %s: %m", NV_DROPIN_PATH);
                        goto refused;
                }
                wrote_dropin = true;
        }

        if (live_change) {
                r = do_reload(d, want, error);
                if (r < 0) {
                        if (wrote_dropin) {
                                int k = nv_dropin_restore(saved);
                                if (k < 0)
                                        log_error_errno(k, "Could not restore %s: %m", NV_DROPIN_PATH);
                        }
                        goto refused;
                }
        }

        (void) daemon_refresh(d);
        if (live_change)
                daemon_notify_managers(d);
        audit_set_nested(&caller, want, flags, old, d->host, "done");
        return reply_state(m, d->host);

refused:
        /* Record what the host looks like now: a failed rollback may have changed it. */
        (void) daemon_refresh(d);
        audit_set_nested(&caller, want, flags, old, d->host, error->message ?: "failed");
        return r < 0 ? r : -EIO;
}

/* Reads a flags argument that has no bits defined yet. */
static int read_no_flags(sd_bus_message *m, sd_bus_error *error)
{
        uint64_t flags;
        int r = sd_bus_message_read(m, "t", &flags);

        if (r < 0)
                return r;
        if (flags != 0)
                return sd_bus_error_setf(
                        error, SD_BUS_ERROR_INVALID_ARGS, "Unknown flags 0x%" PRIx64 ".", flags);
        return 0;
}

static int reply_next_load(sd_bus_message *m, const NvHost *h)
{
        return sd_bus_reply_method_return(
                m, "ss", nv_nested_to_string(h->config.next_load), strempty(h->config.source));
}

int method_reset_persistent(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        static const char *const details[] = { "persistent", "true", NULL };
        Daemon *d = userdata;
        _cleanup_free_ char *saved = NULL;
        AuditCaller caller;
        int r;

        assert(m);
        assert(d);

        r = read_no_flags(m, error);
        if (r < 0)
                return r;

        refresh(d);

        /* Without the drop-in there is nothing to remove. */
        r = nv_dropin_save(&saved);
        if (r < 0)
                return r;
        if (!saved)
                return reply_next_load(m, d->host);

        /* Nothing to validate: removing the file is always possible. */
        caller = bus_polkit_caller(&d->polkit, m);
        r = bus_verify(d, m, method_reset_persistent, "ResetPersistent", details, &caller, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit decides; we are called again with its answer */

        r = nv_dropin_remove();
        if (r < 0) {
                audit_change(&caller, "ResetPersistent", "drop-in", "drop-in", strerror(-r));
                return sd_bus_error_set_errnof(error, r, "Could not remove %s: %m", NV_DROPIN_PATH);
        }

        (void) daemon_refresh(d);
        audit_change(&caller, "ResetPersistent", r > 0 ? "drop-in" : "none", "none", "done");
        return reply_next_load(m, d->host);
}

/* What Enforce would change to, or UNKNOWN when there is nothing to do. */
static NvNested enforce_target(const NvHost *h)
{
        if (!h->module || h->module_state != NV_MODULE_LOADED)
                return NV_NESTED_UNKNOWN;
        if (h->config.next_load != NV_NESTED_ENABLED && h->config.next_load != NV_NESTED_DISABLED)
                return NV_NESTED_UNKNOWN;
        return h->nested == h->config.next_load ? NV_NESTED_UNKNOWN : h->config.next_load;
}

int method_enforce(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        static const char *const details[] = { "runtime", "true", NULL };
        Daemon *d = userdata;
        _cleanup_free_ char *old = NULL;
        AuditCaller caller;
        NvNested want;
        int r;

        assert(m);
        assert(d);

        r = read_no_flags(m, error);
        if (r < 0)
                return r;

        refresh(d);

        want = enforce_target(d->host);
        if (want == NV_NESTED_UNKNOWN)
                return sd_bus_reply_method_return(m, "sb", nv_nested_to_string(d->host->nested), 0);

        caller = bus_polkit_caller(&d->polkit, m);
        old = strdup(nv_nested_to_string(d->host->nested));
        if (!old)
                return -ENOMEM;
        r = check_runtime_possible(d->host, want, error);
        if (r < 0) {
                audit_change(&caller, "Enforce", old, old, error->message);
                return r;
        }

        r = bus_verify(d, m, method_enforce, "Enforce", details, &caller, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit decides; we are called again with its answer */

        r = do_reload(d, want, error);

        (void) daemon_refresh(d);
        if (r >= 0)
                daemon_notify_managers(d);
        audit_change(&caller, "Enforce", old, nv_nested_to_string(d->host->nested),
                r < 0 ? (error->message ?: "failed") : "done");
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(m, "sb", nv_nested_to_string(d->host->nested), 1);
}
