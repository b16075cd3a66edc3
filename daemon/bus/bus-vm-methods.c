/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <inttypes.h>

#include "config.h"

#include "audit.h"
#include "bus-auth.h"
#include "bus-polkit.h"
#include "bus-vm-methods.h"
#include "bus-vm.h"
#include "daemon.h"
#include "log.h"
#include "nestvirt-bus.h"
#if HAVE_LIBVIRT
#include "libvirt-vms.h"
#include "libvirt-watch.h"
#endif

/* SetExposure follows the order of the host's methods (bus-methods.c): arguments, refresh, no-op
 * fast path, validate, polkit, change, emit, reply; re-entered with the same message once polkit
 * answered, when the VM may have changed or gone. */

static bool already_there(const NvVmEntry *e, bool expose, uint64_t flags)
{
        if (!expose)
                return e->config.next == NV_VM_NESTING_HIDDEN;
        if (e->config.next != NV_VM_NESTING_EXPOSED)
                return false;
        return !(flags & NV_EXPOSE_HOST_MODEL) || e->config.next_by == NV_VM_SOURCE_HOST_MODEL;
}

/* Refusals that need no manager: what cannot be changed through one. */
static int check_exposure_possible(const NvVmEntry *e, const NvHost *h, sd_bus_error *error)
{
        const char *flag = h->cpu.vendor == NV_VENDOR_AMD ? "svm" : "vmx";

        if (!e->configured)
                return sd_bus_error_setf(error, NV_ERROR_NOT_SUPPORTED,
                        "%s runs without a configuration nestvirt can change. Start it with \"-cpu host\", "
                        "or "
                        "add \"+%s\" to its -cpu option (for example \"-cpu EPYC,+%s\").",
                        e->label, flag, flag);
        if (!e->config.x86)
                return sd_bus_error_setf(error, NV_ERROR_NOT_SUPPORTED,
                        "%s is not an x86 guest: %s does not apply to it.", e->label, flag);
        if (e->config.lock)
                return sd_bus_error_setf(error, NV_ERROR_LOCKED,
                        "VM %s is locked by Proxmox VE (%s). Try again when the %s has finished.",
                        strempty(e->config.id), e->config.lock, e->config.lock);
        return 0;
}

static int change_exposure(Daemon *d, const NvVmEntry *e, bool expose, uint64_t flags, NvExposeResult *res)
{
        switch (e->manager) {
        case NV_VM_MANAGER_PROXMOX:
                return nv_pve_set_exposure(
                        &d->host->inventory.pve, d->host->cpu.vendor, e->config.id, expose, flags, res);
        case NV_VM_MANAGER_LIBVIRT: {
#if HAVE_LIBVIRT
                virConnectPtr conn = libvirt_watch_connection(d->libvirt_watch);
                if (conn)
                        return nv_libvirt_set_exposure(
                                conn, d->host->cpu.vendor, e->config.id, expose, flags, res);
#endif
                res->status = NV_EXPOSE_MANAGER_FAILED;
                res->message = strdup("libvirt cannot be reached.");
                return res->message ? 0 : -ENOMEM;
        }
        default:
                res->status = NV_EXPOSE_NOT_SUPPORTED;
                res->message = strdup("This VM has no manager nestvirt can change it through.");
                return res->message ? 0 : -ENOMEM;
        }
}

static int result_to_error(const NvExposeResult *res, sd_bus_error *error)
{
        static const char *const names[] = {
                [NV_EXPOSE_LOCKED] = NV_ERROR_LOCKED,
                [NV_EXPOSE_NOT_SUPPORTED] = NV_ERROR_NOT_SUPPORTED,
                [NV_EXPOSE_NO_SUCH_VM] = NV_ERROR_NO_SUCH_VM,
                [NV_EXPOSE_MANAGER_FAILED] = NV_ERROR_MANAGER_FAILED,
        };
        const char *name = (size_t) res->status < ELEMENTSOF(names) ? names[res->status] : NULL;

        return sd_bus_error_setf(error, name ?: NV_ERROR_MANAGER_FAILED, "%s",
                res->message ?: "The VM manager failed without saying why.");
}

/* "next=hidden cpu=x86-64-v2-AES": a VM's state in an audit record. */
static char *vm_state(const NvVmEntry *e)
{
        char *s;

        if (!e)
                return strdup("gone");
        if (asprintf(&s, "next=%s cpu=%s", nv_vm_nesting_to_string(e->config.next),
                    strempty(e->config.cpu)) < 0)
                return NULL;
        return s;
}

static int reply_exposure(sd_bus_message *m, const NvVmEntry *e)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_append(
                        reply, "sb", nv_vm_nesting_to_string(e->config.next), (int) e->pending);
        if (r >= 0)
                r = sd_bus_message_append_strv(reply, e->notes);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

int method_set_exposure(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        _cleanup_(nv_expose_result_done) NvExposeResult res = {};
        _cleanup_free_ char *request = NULL, *old = NULL, *new = NULL, *path = NULL;
        const char *details[9];
        Daemon *d = userdata;
        const NvVmEntry *e;
        AuditCaller caller;
        uint64_t flags;
        int expose, r;

        assert(m);
        assert(d);

        r = sd_bus_message_read(m, "bt", &expose, &flags);
        if (r < 0)
                return r;
        if (flags & ~NV_EXPOSE_HOST_MODEL)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown flags 0x%" PRIx64 ".",
                        flags & ~NV_EXPOSE_HOST_MODEL);
        path = strdup(sd_bus_message_get_path(m));
        if (!path)
                return -ENOMEM;

        (void) daemon_refresh(d);
        e = bus_vm_entry(d, path);
        if (!e)
                return sd_bus_error_setf(error, NV_ERROR_NO_SUCH_VM, "No VM at %s any more.", path);

        if (already_there(e, expose, flags))
                return reply_exposure(m, e);

        caller = bus_polkit_caller(&d->polkit, m);
        if (asprintf(&request, "SetExposure(%s, %s%s)", e->label, expose ? "expose" : "hide",
                    expose && (flags & NV_EXPOSE_HOST_MODEL) ? ", host-model" : "") < 0)
                return -ENOMEM;
        old = vm_state(e);
        r = check_exposure_possible(e, d->host, error);
        if (r < 0) {
                audit_change(&caller, request, strempty(old), strempty(old), error->message);
                return r;
        }

        details[0] = "manager";
        details[1] = nv_vm_manager_to_string(e->manager);
        details[2] = "id";
        details[3] = strempty(e->config.id);
        details[4] = "name";
        details[5] = strempty(e->config.name);
        details[6] = "expose";
        details[7] = expose ? "true" : "false";
        details[8] = NULL;
        r = bus_verify(d, m, method_set_exposure, "SetExposure", details, &caller, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit decides; we are called again with its answer */

        r = change_exposure(d, e, expose, flags, &res);
        if (r < 0)
                return r;
        if (res.status != NV_EXPOSE_DONE)
                r = result_to_error(&res, error);
        else if (res.changed)
                log_info("%s %s: the next start uses cpu \"%s\".", expose ? "Exposed" : "Hid", e->label,
                        strempty(res.cpu));

        /* The manager's own event may come later: the reply already shows the new state. */
        (void) daemon_refresh(d);
        e = bus_vm_entry(d, path);
        new = vm_state(e);
        audit_change(&caller, request, strempty(old), strempty(new), r < 0 ? error->message : "done");
        if (r < 0)
                return r;
        if (!e)
                return sd_bus_error_setf(error, NV_ERROR_NO_SUCH_VM, "No VM at %s any more.", path);
        return reply_exposure(m, e);
}
