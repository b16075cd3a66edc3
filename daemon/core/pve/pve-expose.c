/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdarg.h>

#include "host-path.h"
#include "json-flat.h"
#include "pve-api.h"
#include "pve-cpu.h"
#include "pve-models.h"
#include "pve-nesting.h"
#include "pve-node.h"
#include "pve-vms.h"
#include "util.h"

#define NESTED_VIRT "nested-virt"

/* What the change works on: the config pvesh returned (pending values applied). */
typedef struct Target {
        const NvPveNode *node;
        const char *vmid;
        NvVendor vendor;
        NvPveModels models;
        NvJsonFlat config;
        NvPveHost host;
        NvPveGuest guest;
} Target;

static void target_done(Target *t)
{
        nv_pve_models_done(&t->models);
        nv_json_flat_done(&t->config);
}

static int result_fail(NvExposeResult *ret, NvExposeStatus status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int result_fail(NvExposeResult *ret, NvExposeStatus status, const char *fmt, ...)
{
        va_list ap;
        int r;

        nv_expose_result_done(ret);
        ret->status = status;
        va_start(ap, fmt);
        r = vasprintf(&ret->message, fmt, ap);
        va_end(ap);
        if (r < 0) {
                ret->message = NULL;
                return -ENOMEM;
        }
        return 0;
}

static int result_done(NvExposeResult *ret, const char *cpu, bool changed)
{
        nv_expose_result_done(ret);
        ret->status = NV_EXPOSE_DONE;
        ret->changed = changed;
        /* An unset cpu is kvm64. */
        ret->cpu = strdup(cpu ?: "kvm64");
        return ret->cpu ? 0 : -ENOMEM;
}

static const char *ext_name(NvVendor vendor)
{
        return vendor == NV_VENDOR_AMD ? "svm" : vendor == NV_VENDOR_INTEL ? "vmx" : "vmx/svm";
}

static int config_path(const char *vmid, char **ret)
{
        return asprintf(ret, NV_PVE_CONFIG_DIR "/%s.conf", vmid) < 0 ? -ENOMEM : 0;
}

/* Our own view: a config that is gone needs no pvesh to say so. */
static int config_exists(const char *vmid)
{
        _cleanup_free_ char *rel = NULL, *path = NULL;

        if (config_path(vmid, &rel) < 0)
                return -ENOMEM;
        path = nv_host_path(rel);
        if (!path)
                return -ENOMEM;
        return access(path, F_OK) == 0;
}

static int api_path(const Target *t, char **ret)
{
        return asprintf(ret, "/nodes/%s/qemu/%s/config", t->node->node, t->vmid) < 0 ? -ENOMEM : 0;
}

/* A pvesh failure as the result; 1 when it was one, 0 for success. */
static int pvesh_failed(int r, const char *error, const char *vmid, NvExposeResult *ret)
{
        if (r == -ENOMEM)
                return r;
        if (r >= 0)
                return 0;
        NvExposeStatus s = nv_pvesh_failure_status(error);
        if (s == NV_EXPOSE_NO_SUCH_VM)
                r = result_fail(ret, s, "VM %s does not exist on this node: %s", vmid, error);
        else
                r = result_fail(ret, s, "Proxmox VE did not change VM %s: %s", vmid, error);
        return r < 0 ? r : 1;
}

static bool digest_valid(const char *d)
{
        return d && strlen(d) == 40 && strspn(d, "0123456789abcdef") == 40;
}

/* pvesh get: the config for the next start and its digest. Returns 1 when ret got a failure. */
static int target_load(Target *t, NvExposeResult *ret)
{
        _cleanup_free_ char *path = NULL, *out = NULL, *error = NULL;
        const char *kvm;
        int r;

        if (api_path(t, &path) < 0)
                return -ENOMEM;
        const char *args[] = { "get", path, "--output-format", "json", NULL };
        r = nv_pvesh_call(args, &out, &error);
        r = pvesh_failed(r, error, t->vmid, ret);
        if (r != 0)
                return r;

        r = nv_json_flat_parse(out, strlen(out), &t->config);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || !digest_valid(nv_json_flat_get(&t->config, "digest"))) {
                r = result_fail(ret, NV_EXPOSE_MANAGER_FAILED,
                        "pvesh returned no config with a digest for VM %s", t->vmid);
                return r < 0 ? r : 1;
        }

        r = nv_pve_models_read(&t->models);
        if (r == -ENOMEM)
                return r;
        t->host = (NvPveHost){
                .vendor = t->vendor,
                .nested_virt = t->node->nested_virt,
                .models = &t->models,
        };
        kvm = nv_json_flat_get(&t->config, "kvm");
        t->guest = (NvPveGuest){
                .cpu = nv_json_flat_get(&t->config, "cpu"),
                .args = nv_json_flat_get(&t->config, "args"),
                /* JSON gives kvm as 0/1; anything but 0 leaves KVM on. */
                .kvm = !kvm || !streq(kvm, "0"),
                .x86 = !nv_json_flat_get(&t->config, "arch") ||
                        streq(nv_json_flat_get(&t->config, "arch"), "x86_64"),
        };
        return 0;
}

static int eval_cpu(const Target *t, const char *cpu, NvPveNesting *ret)
{
        NvPveGuest g = t->guest;

        g.cpu = cpu;
        return nv_pve_nesting_eval(&g, &t->host, ret);
}

/* Why the current setting cannot be changed by its cpu property alone; 1 when ret got that. */
static int refuse_undecidable(const Target *t, const NvPveNesting *now, NvExposeResult *ret)
{
        _cleanup_free_ char *raw = NULL;
        int r;

        if (now->by == NV_VM_SOURCE_NOT_X86)
                r = result_fail(ret, NV_EXPOSE_NOT_SUPPORTED,
                        "VM %s is no x86 guest: vmx and svm do not apply", t->vmid);
        else if (now->by == NV_VM_SOURCE_RAW_ARGS) {
                if (nv_pve_args_cpu(t->guest.args, &raw) < 0)
                        return -ENOMEM;
                r = result_fail(ret, NV_EXPOSE_NOT_SUPPORTED,
                        "VM %s sets its CPU in args (-cpu %s), which overrides its cpu setting: change args "
                        "instead (qm set %s --args ...)",
                        t->vmid, strempty(raw), t->vmid);
        } else if (now->next == NV_VM_NESTING_UNKNOWN)
                r = result_fail(ret, NV_EXPOSE_NOT_SUPPORTED,
                        "VM %s's CPU setting '%s' is not one qemu-server can start (unknown custom model or "
                        "flags): correct it in Proxmox VE first",
                        t->vmid, strempty(t->guest.cpu));
        else
                return 0;
        return r < 0 ? r : 1;
}

static const char *passthrough_type(const Target *t, const NvPveCpu *c)
{
        const char *type = c->cputype ?: "kvm64";
        const NvPveModel *m = startswith(type, "custom-") ? nv_pve_models_find(&t->models, type) : NULL;

        return m ? m->reported_model : type;
}

/* Removes nested-virt from c's flags and tells what c then gives: 1 when that is want. */
static int drop_flag_gives(const Target *t, NvPveCpu *c, NvVmNesting want, NvPveNesting *ret)
{
        _cleanup_free_ char *cpu = NULL;
        int r;

        r = nv_pve_cpu_set_flag(c, NESTED_VIRT, 0);
        if (r < 0)
                return r;
        r = nv_pve_cpu_format(c, &cpu);
        if (r < 0)
                return r;
        r = eval_cpu(t, cpu, ret);
        if (r < 0)
                return r;
        return ret->next == want;
}

/* Dropping a -nested-virt may be all it takes; else +nested-virt. */
static int expose_by_flag(const Target *t, NvPveCpu *c)
{
        int r;

        if (nv_pve_flags_op(c->flags, NESTED_VIRT) == '-') {
                NvPveNesting n;

                r = drop_flag_gives(t, c, NV_VM_NESTING_EXPOSED, &n);
                if (r != 0)
                        return r < 0 ? r : 0;
        }
        return nv_pve_cpu_set_flag(c, NESTED_VIRT, '+');
}

/* The edit that exposes; 1 when ret got a refusal. */
static int edit_expose(const Target *t, NvPveCpu *c, uint64_t flags, NvExposeResult *ret)
{
        int r;

        if (flags & NV_EXPOSE_HOST_MODEL) {
                /* host passes the extension through; only a -nested-virt would still hide it. */
                if (nv_pve_cpu_set_type(c, "host") < 0)
                        return -ENOMEM;
                return nv_pve_flags_op(c->flags, NESTED_VIRT) == '-' ? nv_pve_cpu_set_flag(c, NESTED_VIRT, 0)
                                                                     : 0;
        }
        if (!t->node->nested_virt) {
                r = result_fail(ret, NV_EXPOSE_NOT_SUPPORTED,
                        "qemu-server %s has no nested-virt CPU flag (9.0.27 and later have it): only CPU "
                        "type host, or a custom CPU model with +%s, exposes %s to VM %s; ask for the host "
                        "CPU model to switch it to host",
                        t->node->qemu_server_version ?: "(version unknown)", ext_name(t->vendor),
                        ext_name(t->vendor), t->vmid);
                return r < 0 ? r : 1;
        }
        return expose_by_flag(t, c);
}

/* The edit that hides; 1 when ret got a refusal. */
static int edit_hide(const Target *t, NvPveCpu *c, NvExposeResult *ret)
{
        NvPveNesting n;
        int r;

        /* Dropping a +nested-virt may be all it takes. */
        r = drop_flag_gives(t, c, NV_VM_NESTING_HIDDEN, &n);
        if (r != 0)
                return r < 0 ? r : 0;

        /* The model itself passes the extension (host, max, reported-model host) or a custom
         * model adds it: only -nested-virt takes it away. */
        if (t->node->nested_virt)
                return nv_pve_cpu_set_flag(c, NESTED_VIRT, '-');
        if (n.by == NV_VM_SOURCE_CUSTOM_MODEL)
                r = result_fail(ret, NV_EXPOSE_NOT_SUPPORTED,
                        "Custom CPU model %s gives VM %s %s, and qemu-server %s has no -nested-virt flag "
                        "(9.0.27 and later have it): change the model in cpu-models.conf or pick another "
                        "CPU "
                        "type",
                        c->cputype, t->vmid, ext_name(t->vendor),
                        t->node->qemu_server_version ?: "(version unknown)");
        else
                r = result_fail(ret, NV_EXPOSE_NOT_SUPPORTED,
                        "CPU type %s passes %s through to VM %s, and qemu-server %s has no -nested-virt "
                        "flag "
                        "(9.0.27 and later have it): pick another CPU type",
                        passthrough_type(t, c) ?: "kvm64", ext_name(t->vendor), t->vmid,
                        t->node->qemu_server_version ?: "(version unknown)");
        return r < 0 ? r : 1;
}

static int target_set_cpu(const Target *t, const char *cpu, NvExposeResult *ret)
{
        _cleanup_free_ char *path = NULL, *out = NULL, *error = NULL;
        int r;

        if (api_path(t, &path) < 0)
                return -ENOMEM;
        const char *args[] = {
                "set",
                path,
                "--cpu",
                cpu,
                "--digest",
                nv_json_flat_get(&t->config, "digest"),
                NULL,
        };
        r = nv_pvesh_call(args, &out, &error);
        r = pvesh_failed(r, error, t->vmid, ret);
        if (r != 0)
                return r < 0 ? r : 0;
        return result_done(ret, cpu, true);
}

static int expose_change(Target *t, bool expose, uint64_t flags, NvExposeResult *ret)
{
        _cleanup_(nv_pve_cpu_done) NvPveCpu c = {};
        _cleanup_free_ char *cpu = NULL;
        NvVmNesting want = expose ? NV_VM_NESTING_EXPOSED : NV_VM_NESTING_HIDDEN;
        const char *lock = nv_json_flat_get(&t->config, "lock");
        NvPveNesting now, next;
        int r;

        if (lock)
                return result_fail(ret, NV_EXPOSE_LOCKED,
                        "VM %s is locked (%s): Proxmox VE allows no change until that ends or the lock is "
                        "removed (qm unlock %s)",
                        t->vmid, lock, t->vmid);

        r = eval_cpu(t, t->guest.cpu, &now);
        if (r < 0)
                return r;
        if (now.next == want)
                return result_done(ret, t->guest.cpu, false);
        r = refuse_undecidable(t, &now, ret);
        if (r != 0)
                return r < 0 ? r : 0;

        r = nv_pve_cpu_parse(t->guest.cpu, &c);
        if (r < 0)
                return r;
        r = expose ? edit_expose(t, &c, flags, ret) : edit_hide(t, &c, ret);
        if (r != 0)
                return r < 0 ? r : 0;
        /* A new cpu string names its type: kvm64 stood for the unset one. */
        if (!c.cputype && nv_pve_cpu_set_type(&c, "kvm64") < 0)
                return -ENOMEM;
        r = nv_pve_cpu_format(&c, &cpu);
        if (r < 0)
                return r;

        r = eval_cpu(t, cpu, &next);
        if (r < 0)
                return r;
        if (next.next != want)
                return result_fail(ret, NV_EXPOSE_NOT_SUPPORTED,
                        "No change of VM %s's CPU setting '%s' %s %s", t->vmid, strempty(t->guest.cpu),
                        expose ? "exposes" : "hides", ext_name(t->vendor));
        if (streq_ptr(cpu, t->guest.cpu))
                return result_done(ret, cpu, false);
        return target_set_cpu(t, cpu, ret);
}

int nv_pve_set_exposure(const NvPveNode *node, NvVendor vendor, const char *vmid, bool expose,
        uint64_t flags, NvExposeResult *ret)
{
        _cleanup_(target_done) Target t = { .node = node, .vmid = vmid, .vendor = vendor };
        int r;

        assert(node);
        assert(ret);

        *ret = (NvExposeResult){};
        if (!nv_pve_vmid_valid(vmid))
                return result_fail(ret, NV_EXPOSE_NO_SUCH_VM, "'%s' is no Proxmox VE VMID", strempty(vmid));
        if (!node->present || !nv_pve_node_name_valid(node->node))
                return result_fail(ret, NV_EXPOSE_NOT_SUPPORTED,
                        "This host is no Proxmox VE node with a valid node name");
        if (flags & ~NV_EXPOSE_HOST_MODEL)
                return -EINVAL;

        r = config_exists(vmid);
        if (r < 0)
                return r;
        if (r == 0)
                return result_fail(ret, NV_EXPOSE_NO_SUCH_VM, "VM %s does not exist on this node", vmid);

        r = target_load(&t, ret);
        if (r != 0)
                return r < 0 ? r : 0;
        return expose_change(&t, expose, flags, ret);
}
