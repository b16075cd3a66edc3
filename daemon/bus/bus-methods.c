/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>

#include "audit.h"
#include "bus-errors.h"
#include "bus-methods.h"
#include "bus-polkit.h"
#include "dropin.h"
#include "kvm-holders.h"
#include "log.h"
#include "module-reload.h"

/*
 * Handlers follow one order: validate, no-op fast path, polkit, change, emit, reply. The change
 * itself runs after authorization against a fresh snapshot, so a request that someone else
 * already satisfied meanwhile does nothing.
 */

/* Which method needs which polkit action. A method not listed here is refused. */
static const struct {
        const char *method;
        const char *action;
} auth_table[] = {
        { "SetNested/runtime", "org.nestvirt.NestVirt1.set-nested" },
        { "SetNested/persistent", "org.nestvirt.NestVirt1.set-persistent" },
        { "ResetPersistent", "org.nestvirt.NestVirt1.set-persistent" },
        { "Enforce", "org.nestvirt.NestVirt1.enforce" },
};

static const char *action_for(const char *what)
{
        for (size_t i = 0; i < ELEMENTSOF(auth_table); i++)
                if (streq(auth_table[i].method, what))
                        return auth_table[i].action;
        return NULL;
}

typedef struct Request {
        Daemon *daemon;
        AuditCaller caller; /* taken when the call arrived */
        NvNested want;
        uint64_t flags;
} Request;

static int request_new(Daemon *d, sd_bus_message *m, NvNested want, uint64_t flags, Request **ret)
{
        Request *q = calloc(1, sizeof(Request));
        if (!q)
                return -ENOMEM;
        *q = (Request){ .daemon = d, .caller = audit_caller(m), .want = want, .flags = flags };
        *ret = q;
        return 0;
}

static int verify(Daemon *d, sd_bus_message *m, const char *what, const char *const *details,
        AuthorizedFn fn, Request *q)
{
        const char *action = action_for(what);
        if (!action) {
                free(q);
                return sd_bus_reply_method_errorf(
                        m, SD_BUS_ERROR_ACCESS_DENIED, "No authorization rule for %s.", what);
        }
        return bus_verify_polkit_async(d, m, &q->caller, action, details, fn, q, free);
}

static int reply_state(sd_bus_message *m, const NvHost *h)
{
        return sd_bus_reply_method_return(m, "sss", nv_nested_to_string(h->nested),
                nv_nested_to_string(h->config.next_load), strempty(h->config.source));
}

/* Refusals that do not depend on who asks, for a live change of h's module. */
static int check_runtime_possible(const NvHost *h, NvNested want, sd_bus_error *error)
{
        if (!nv_cpu_info_hardware_support(&h->cpu))
                return sd_bus_error_setf(error, NV_ERROR_PREFIX "NotSupported",
                        "This CPU does not offer %s to KVM%s; nested virtualization cannot run here.",
                        h->cpu.vendor == NV_VENDOR_AMD ? "svm" : "vmx",
                        h->virt.guest ? " (the hypervisor does not expose it to this guest)"
                                      : " (or the firmware disabled it)");
        if (h->module_state == NV_MODULE_BUILTIN)
                return sd_bus_error_setf(error, NV_ERROR_PREFIX "Builtin",
                        "%s is built into the kernel and cannot be reloaded. Add %s.nested=%d to the kernel "
                        "command line and reboot.",
                        h->module, h->module, want == NV_NESTED_ENABLED ? 1 : 0);
        if (h->modules_disabled)
                return sd_bus_error_setf(error, NV_ERROR_PREFIX "ModulesDisabled",
                        "kernel.modules_disabled=1: modules cannot be loaded or unloaded until the next "
                        "boot.");
        if (h->module_state == NV_MODULE_UNAVAILABLE)
                return sd_bus_error_setf(error, NV_ERROR_PREFIX "NotSupported",
                        "%s is not installed for kernel %s.", h->module, strempty(h->kernel_release));
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
        return sd_bus_error_setf(error, NV_ERROR_PREFIX "VMsRunning",
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
                return sd_bus_error_set_errnof(error, r, "Could not reload %s: %s", module, strerror(-r));

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
                return sd_bus_error_setf(error, NV_ERROR_PREFIX "ReloadFailed", "%s", strempty(text));
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

static int set_nested_authorized(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        Request *q = userdata;
        Daemon *d = q->daemon;
        _cleanup_free_ char *saved = NULL, *old = NULL;
        bool live_change, wrote_dropin = false;
        int r;

        daemon_recover();
        (void) daemon_refresh(d);
        old = host_state(d->host);
        live_change = (q->flags & NV_SET_RUNTIME) && d->host->nested != q->want;

        if (live_change) {
                r = check_runtime_possible(d->host, q->want, error);
                if (r < 0)
                        goto refused;
        }

        /* Persistent first: it is the part that can be undone exactly if the live part fails. */
        if ((q->flags & NV_SET_PERSISTENT) && !nv_dropin_matches(q->want)) {
                r = nv_dropin_save(&saved);
                if (r >= 0)
                        r = nv_dropin_write(q->want);
                if (r < 0) {
                        sd_bus_error_set_errnof(
                                error, r, "Could not write %s: %s", NV_DROPIN_PATH, strerror(-r));
                        goto refused;
                }
                wrote_dropin = true;
        }

        if (live_change) {
                r = do_reload(d, q->want, error);
                if (r < 0) {
                        if (wrote_dropin) {
                                int k = nv_dropin_restore(saved);
                                if (k < 0)
                                        log_error("Could not restore %s: %s", NV_DROPIN_PATH, strerror(-k));
                        }
                        goto refused;
                }
        }

        (void) daemon_refresh(d);
        audit_set_nested(&q->caller, q->want, q->flags, old, d->host, "done");
        return reply_state(m, d->host);

refused:
        /* Record what the host looks like now: a failed rollback may have changed it. */
        (void) daemon_refresh(d);
        audit_set_nested(&q->caller, q->want, q->flags, old, d->host, error->message ?: "failed");
        return r < 0 ? r : -EIO;
}

int method_set_nested(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        Daemon *d = userdata;
        const char *details[9];
        bool live_change;
        uint64_t flags;
        int enabled, r;
        NvNested want;
        Request *q;

        r = sd_bus_message_read(m, "bt", &enabled, &flags);
        if (r < 0)
                return r;
        if (flags & ~(uint64_t) (NV_SET_RUNTIME | NV_SET_PERSISTENT))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown flags 0x%" PRIx64 ".",
                        flags & ~(uint64_t) (NV_SET_RUNTIME | NV_SET_PERSISTENT));
        if (!(flags & (NV_SET_RUNTIME | NV_SET_PERSISTENT)))
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                        "Nothing to change: set runtime (1), persistent (2) or both.");
        if (!d->host->module)
                return sd_bus_error_setf(error, NV_ERROR_PREFIX "NotSupported",
                        "This CPU (vendor %s) has no KVM module.",
                        isempty(d->host->cpu.vendor_id) ? "unknown" : d->host->cpu.vendor_id);

        want = enabled ? NV_NESTED_ENABLED : NV_NESTED_DISABLED;
        live_change = (flags & NV_SET_RUNTIME) && d->host->nested != want;
        if (!live_change && (!(flags & NV_SET_PERSISTENT) || nv_dropin_matches(want)))
                return reply_state(m, d->host);

        if (live_change) {
                r = check_runtime_possible(d->host, want, error);
                if (r < 0) {
                        AuditCaller caller = audit_caller(m);
                        _cleanup_free_ char *state = host_state(d->host);
                        audit_set_nested(&caller, want, flags, state, d->host, error->message);
                        return r;
                }
        }

        r = request_new(d, m, want, flags, &q);
        if (r < 0)
                return r;
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
        return verify(d, m, flags & NV_SET_RUNTIME ? "SetNested/runtime" : "SetNested/persistent", details,
                set_nested_authorized, q);
}

static int reset_authorized(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        Request *q = userdata;
        Daemon *d = q->daemon;
        int r = nv_dropin_remove();

        if (r < 0) {
                audit_change(&q->caller, "ResetPersistent", "drop-in", "drop-in", strerror(-r));
                return sd_bus_error_set_errnof(
                        error, r, "Could not remove %s: %s", NV_DROPIN_PATH, strerror(-r));
        }
        audit_change(&q->caller, "ResetPersistent", r > 0 ? "drop-in" : "none", "none", "done");
        (void) daemon_refresh(d);
        return sd_bus_reply_method_return(
                m, "ss", nv_nested_to_string(d->host->config.next_load), strempty(d->host->config.source));
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

int method_reset_persistent(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        static const char *const details[] = { "persistent", "true", NULL };
        Daemon *d = userdata;
        _cleanup_free_ char *saved = NULL;
        Request *q;
        int r;

        r = read_no_flags(m, error);
        if (r < 0)
                return r;

        r = nv_dropin_save(&saved);
        if (r < 0)
                return r;
        if (!saved)
                return sd_bus_reply_method_return(m, "ss", nv_nested_to_string(d->host->config.next_load),
                        strempty(d->host->config.source));

        r = request_new(d, m, NV_NESTED_UNKNOWN, 0, &q);
        if (r < 0)
                return r;
        return verify(d, m, "ResetPersistent", details, reset_authorized, q);
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

static int enforce_authorized(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        Request *q = userdata;
        Daemon *d = q->daemon;
        _cleanup_free_ char *old = NULL;
        NvNested want;
        int r;

        daemon_recover();
        (void) daemon_refresh(d);
        want = enforce_target(d->host);
        if (want == NV_NESTED_UNKNOWN)
                return sd_bus_reply_method_return(m, "sb", nv_nested_to_string(d->host->nested), 0);

        old = strdup(nv_nested_to_string(d->host->nested));
        if (!old)
                return -ENOMEM;
        r = check_runtime_possible(d->host, want, error);
        if (r >= 0)
                r = do_reload(d, want, error);
        (void) daemon_refresh(d);
        audit_change(&q->caller, "Enforce", old, nv_nested_to_string(d->host->nested),
                r < 0 ? (error->message ?: "failed") : "done");
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(m, "sb", nv_nested_to_string(d->host->nested), 1);
}

int method_enforce(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        static const char *const details[] = { "runtime", "true", NULL };
        Daemon *d = userdata;
        Request *q;
        int r;

        r = read_no_flags(m, error);
        if (r < 0)
                return r;

        (void) daemon_refresh(d);
        if (enforce_target(d->host) == NV_NESTED_UNKNOWN)
                return sd_bus_reply_method_return(m, "sb", nv_nested_to_string(d->host->nested), 0);

        r = request_new(d, m, NV_NESTED_UNKNOWN, 0, &q);
        if (r < 0)
                return r;
        return verify(d, m, "Enforce", details, enforce_authorized, q);
}
