/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>

#include "host-path.h"
#include "kvm-holders.h"
#include "util.h"
#include "vm-discovery.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir)

static const char *const manager_names[] = {
        [NV_VM_MANAGER_OTHER] = "other",
        [NV_VM_MANAGER_QEMU] = "qemu",
        [NV_VM_MANAGER_PROXMOX] = "proxmox",
        [NV_VM_MANAGER_LIBVIRT] = "libvirt",
        [NV_VM_MANAGER_FIRECRACKER] = "firecracker",
        [NV_VM_MANAGER_CROSVM] = "crosvm",
        [NV_VM_MANAGER_CLOUD_HYPERVISOR] = "cloud-hypervisor",
};

const char *nv_vm_manager_to_string(NvVmManager m)
{
        if ((size_t) m >= ELEMENTSOF(manager_names))
                return "other";
        return manager_names[m];
}

const char *nv_vm_nesting_to_string(NvVmNesting n)
{
        switch (n) {
        case NV_VM_NESTING_EXPOSED:
                return "exposed";
        case NV_VM_NESTING_HIDDEN:
                return "hidden";
        case NV_VM_NESTING_UNKNOWN:
        default:
                return "unknown";
        }
}

static bool endswith(const char *s, const char *suffix)
{
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && streq(s + a - b, suffix);
}

/* ---- QEMU's -cpu string ---- */

typedef enum Tri {
        TRI_UNSET,
        TRI_ON,
        TRI_OFF,
} Tri;

/* One CPU flag as QEMU resolves it: "-flag" beats "+flag" beats "flag=value" whatever their
 * order (x86_cpu_parse_featurestr collects +/- apart and applies them after the properties). */
typedef struct CpuFlag {
        Tri value; /* the last "flag=on|off" or bare "flag" */
        bool plus, minus;
} CpuFlag;

static Tri cpu_flag_resolve(const CpuFlag *f)
{
        if (f->minus)
                return TRI_OFF;
        if (f->plus)
                return TRI_ON;
        return f->value;
}

/* QEMU's boolean property spellings; anything else makes QEMU refuse the option. */
static Tri parse_bool(const char *v)
{
        static const char *const on[] = { "on", "yes", "true", "y" };
        static const char *const off[] = { "off", "no", "false", "n" };

        for (size_t i = 0; i < ELEMENTSOF(on); i++)
                if (streq(v, on[i]))
                        return TRI_ON;
        for (size_t i = 0; i < ELEMENTSOF(off); i++)
                if (streq(v, off[i]))
                        return TRI_OFF;
        return TRI_UNSET;
}

static void cpu_flag_feed(CpuFlag *f, const char *name, char op, const char *value)
{
        if (op == '+')
                f->plus = true;
        else if (op == '-')
                f->minus = true;
        else {
                Tri t = parse_bool(value);
                if (t != TRI_UNSET)
                        f->value = t;
        }
}

/* The model part of a -cpu value equals one of the models that pass the host CPU through. */
static bool cpu_model_is_passthrough(const char *cpu)
{
        size_t n = strcspn(cpu, ",");
        return (n == 4 && strncmp(cpu, "host", 4) == 0) || (n == 3 && strncmp(cpu, "max", 3) == 0);
}

NvVmNesting nv_vm_cpu_nesting(const char *cpu)
{
        CpuFlag vmx = {}, svm = {};
        Tri v, s;

        /* No -cpu: QEMU's default model, qemu64. Its definition has no vmx, and although it
         * lists svm, under KVM QEMU turns svm off for every named model (kvm_default_props
         * "svm=off"). Machine types 2.1 and older keep the model's svm; nv_vm_parse_cmdline()
         * sees the machine type and says unknown for those. */
        if (!cpu)
                return NV_VM_NESTING_HIDDEN;

        /* Features are split at plain commas: QEMU does not unescape ",," in -cpu. */
        for (const char *p = strchr(cpu, ','); p; p = strchr(p, ',')) {
                char feature[64], op = 0;
                const char *name, *value = "on", *eq;
                size_t n;

                p++;
                n = strcspn(p, ",");
                if (n == 0 || n >= sizeof(feature))
                        continue;
                memcpy(feature, p, n);
                feature[n] = 0;

                name = feature;
                if (feature[0] == '+' || feature[0] == '-')
                        op = *name++;
                else {
                        eq = strchr(feature, '=');
                        if (eq) {
                                feature[eq - feature] = 0;
                                value = eq + 1;
                        }
                }

                if (streq(name, "vmx"))
                        cpu_flag_feed(&vmx, name, op, value);
                else if (streq(name, "svm"))
                        cpu_flag_feed(&svm, name, op, value);
        }

        v = cpu_flag_resolve(&vmx);
        s = cpu_flag_resolve(&svm);

        /* "host" and "max" give the guest what the host's KVM offers: vmx on Intel, svm on AMD.
         * Without the vendor here, removing either flag counts as hiding: nobody writes "-vmx"
         * on an AMD host, so the flag removed is in practice the host's own. */
        if (cpu_model_is_passthrough(cpu))
                return v == TRI_OFF || s == TRI_OFF ? NV_VM_NESTING_HIDDEN : NV_VM_NESTING_EXPOSED;

        /* Named models carry neither flag under KVM: only an explicit request adds it. Proxmox
         * VE resolves its "nested-virt" flag into "+vmx"/"+svm" before QEMU sees it. */
        return v == TRI_ON || s == TRI_ON ? NV_VM_NESTING_EXPOSED : NV_VM_NESTING_HIDDEN;
}

/* ---- QEMU's option syntax ---- */

/* Copies one QemuOpts value starting at *p up to the next lone ',' (",," is a literal comma)
 * and moves *p past that comma. */
static char *opts_value(const char **p)
{
        const char *s = *p;
        char *v, *o;

        v = o = malloc(strlen(s) + 1);
        if (!v)
                return NULL;
        while (*s) {
                if (*s == ',') {
                        if (s[1] != ',') {
                                s++;
                                break;
                        }
                        s++;
                }
                *o++ = *s++;
        }
        *o = 0;
        *p = s;
        return v;
}

/* Finds key in a QemuOpts string such as "guest=NAME,debug-threads=on" or "NAME,debug-threads=on",
 * where a first element without '=' is the value of the key implied. The last occurrence wins,
 * as with QEMU. Returns 1 and the unescaped value (NULL when empty), 0 when absent, or -ENOMEM;
 * ret_implied tells whether the value came without its key. */
static int opts_get(const char *s, const char *implied, const char *key, char **ret, bool *ret_implied)
{
        _cleanup_free_ char *found = NULL;
        bool found_implied = false, first = true, any = false;
        size_t key_len = strlen(key);

        for (const char *p = s; *p; first = false) {
                size_t n = strcspn(p, "=,");
                bool is_implied = false, match;

                if (p[n] != '=') {
                        if (!first || !implied) {
                                /* A bare flag ("debug-threads", "nofoo"): no value to take. */
                                p += n;
                                if (*p == ',')
                                        p++;
                                continue;
                        }
                        is_implied = true;
                        match = streq(implied, key);
                } else {
                        match = n == key_len && strncmp(p, key, n) == 0;
                        p += n + 1;
                }

                char *v = opts_value(&p);
                if (!v)
                        return -ENOMEM;
                if (!match) {
                        free(v);
                        continue;
                }
                free(found);
                found = v;
                found_implied = is_implied;
                any = true;
        }

        if (!any)
                return 0;
        if (found && !*found)
                found = mfree_str(found);
        if (ret_implied)
                *ret_implied = found_implied;
        *ret = TAKE_PTR(found);
        return 1;
}
