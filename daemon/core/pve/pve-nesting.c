/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <ctype.h>

#include "pve-cpu.h"
#include "pve-nesting.h"
#include "util.h"

bool nv_pve_vm_flag_allowed(const char *name)
{
        /* CPUFlags.pm: the VM-specific flags of x86_64, "for security reasons" a fixed list. */
        static const char *const allowed[] = {
                "aes",
                "amd-no-ssb",
                "amd-ssbd",
                "hv-evmcs",
                "hv-tlbflush",
                "ibpb",
                "md-clear",
                "nested-virt",
                "pcid",
                "pdpe1gb",
                "spec-ctrl",
                "ssbd",
                "virt-ssbd",
        };

        for (size_t i = 0; i < ELEMENTSOF(allowed); i++)
                if (streq(name, allowed[i]))
                        return true;
        return false;
}

/* ---- args ---- */

/* Splits args into NUL-terminated words, as Text::ParseWords' shellwords (qemu-server's
 * split_args) does: blanks separate, '...' is literal, "..." and bare words take \ escapes. An
 * unterminated quote gives no words at all. Returns the number of bytes written to out (which
 * must hold strlen(args) + 1), or -EINVAL. */
static ssize_t split_words(const char *args, char *out)
{
        char *o = out;
        bool in_word = false;

        for (const char *p = args; *p;) {
                if (isspace((unsigned char) *p)) {
                        if (in_word)
                                *o++ = 0;
                        in_word = false;
                        p++;
                        continue;
                }
                in_word = true;
                if (*p == '\'') {
                        const char *e = strchr(p + 1, '\'');
                        if (!e)
                                return -EINVAL;
                        memcpy(o, p + 1, (size_t) (e - p - 1));
                        o += e - p - 1;
                        p = e + 1;
                } else if (*p == '"') {
                        for (p++; *p != '"'; p++) {
                                if (!*p)
                                        return -EINVAL;
                                if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
                                        p++;
                                *o++ = *p;
                        }
                        p++;
                } else if (*p == '\\' && p[1]) {
                        *o++ = p[1];
                        p += 2;
                } else
                        *o++ = *p++;
        }
        if (in_word)
                *o++ = 0;
        return o - out;
}

int nv_pve_args_cpu(const char *args, char **ret)
{
        _cleanup_free_ char *buf = NULL;
        NvVm vm = {};
        ssize_t n;
        int r;

        assert(ret);
        *ret = NULL;
        if (!args)
                return 0;

        /* "kvm" first: the command line parser reads QEMU options of QEMU's argv. */
        buf = malloc(sizeof("kvm") + strlen(args) + 1);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, "kvm", sizeof("kvm"));
        n = split_words(args, buf + sizeof("kvm"));
        if (n < 0)
                return 0;

        r = nv_vm_parse_cmdline(buf, sizeof("kvm") + (size_t) n, &vm);
        free(vm.name);
        free(vm.vm_id);
        free(vm.comm);
        if (r < 0) {
                free(vm.cpu);
                return r;
        }
        *ret = vm.cpu;
        return 0;
}

/* ---- the -cpu string of args ---- */

static bool qemu_on(const char *v)
{
        return !v || streq(v, "on") || streq(v, "yes") || streq(v, "true") || streq(v, "y");
}

static bool ext_matches(const char *name, NvVendor vendor)
{
        if (vendor == NV_VENDOR_INTEL)
                return streq(name, "vmx");
        if (vendor == NV_VENDOR_AMD)
                return streq(name, "svm");
        return streq(name, "vmx") || streq(name, "svm");
}

/* Whether a raw -cpu value makes QEMU fail without the extension: "enforce" and the vendor's
 * flag asked for by name ("+vmx", "vmx", "vmx=on"). */
static bool raw_cpu_requires(const char *cpu, NvVendor vendor)
{
        bool enforce = false, asks = false;

        for (const char *p = strchr(cpu, ','); p; p = strchr(p, ',')) {
                char feature[64];
                const char *value = NULL;
                size_t n;
                char *eq;

                p++;
                n = strcspn(p, ",");
                if (n == 0 || n >= sizeof(feature))
                        continue;
                memcpy(feature, p, n);
                feature[n] = 0;
                eq = strchr(feature, '=');
                if (eq) {
                        *eq = 0;
                        value = eq + 1;
                }
                if (streq(feature, "enforce"))
                        enforce = qemu_on(value);
                else if (feature[0] == '+' && !value && ext_matches(feature + 1, vendor))
                        asks = true;
                else if (ext_matches(feature, vendor) && qemu_on(value))
                        asks = true;
        }
        return enforce && asks;
}

/* ---- the cpu property ---- */

static char ext_op(const char *flags, NvVendor vendor)
{
        if (vendor == NV_VENDOR_INTEL)
                return nv_pve_flag_list_op(flags, "vmx");
        if (vendor == NV_VENDOR_AMD)
                return nv_pve_flag_list_op(flags, "svm");
        return nv_pve_flag_list_op(flags, "vmx") ?: nv_pve_flag_list_op(flags, "svm");
}

/* The VM's flags pass qemu-server's check (validate_vm_cpu_conf), else the VM does not start. */
static bool vm_flags_valid(char *const *flags, bool nested_virt)
{
        for (size_t i = 0; flags && flags[i]; i++) {
                const char *name = flags[i] + 1;
                if (!nv_pve_vm_flag_allowed(name) || (streq(name, "nested-virt") && !nested_virt))
                        return false;
        }
        return true;
}

static int eval_cpu(const NvPveGuest *g, const NvPveHost *h, NvPveNesting *ret)
{
        _cleanup_(nv_pve_cpu_done) NvPveCpu c = {};
        const char *reported;
        char vm_op, model_op = 0, op;
        bool passthrough;
        int r;

        /* What qemu-server refuses to start with: unknown. */
        *ret = (NvPveNesting){ .next = NV_VM_NESTING_UNKNOWN, .by = NV_VM_SOURCE_NONE };

        r = nv_pve_cpu_parse(g->cpu, &c);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || (g->cpu && !c.cputype) || nv_pve_cpu_get(&c, "reported-model"))
                return 0;
        if (!vm_flags_valid(c.flags, h->nested_virt)) {
                ret->by = NV_VM_SOURCE_FLAG;
                return 0;
        }

        reported = c.cputype ?: "kvm64";
        if (startswith(reported, "custom-")) {
                const NvPveModel *m = nv_pve_models_find(h->models, reported);

                if (!m) {
                        ret->by = NV_VM_SOURCE_CUSTOM_MODEL;
                        return 0;
                }
                reported = m->reported_model ?: "kvm64";
                /* nested-virt in the model's own flags overrides its raw vmx/svm. */
                model_op = nv_pve_flag_list_op(m->flags, "nested-virt") ?: ext_op(m->flags, h->vendor);
        }

        vm_op = nv_pve_flags_op(c.flags, "nested-virt");
        op = vm_op ?: model_op;
        passthrough = streq(reported, "host") || streq(reported, "max");

        if (op)
                ret->next = op == '+' ? NV_VM_NESTING_EXPOSED : NV_VM_NESTING_HIDDEN;
        else
                ret->next = passthrough ? NV_VM_NESTING_EXPOSED : NV_VM_NESTING_HIDDEN;
        ret->by = vm_op       ? NV_VM_SOURCE_FLAG
                : model_op    ? NV_VM_SOURCE_CUSTOM_MODEL
                : passthrough ? NV_VM_SOURCE_HOST_MODEL
                              : NV_VM_SOURCE_NONE;
        /* "enforce" for every reported model but host; it bites on a flag asked for. */
        ret->requires = g->kvm && op == '+' && !streq(reported, "host");
        return 0;
}

int nv_pve_nesting_eval(const NvPveGuest *g, const NvPveHost *h, NvPveNesting *ret)
{
        _cleanup_free_ char *raw = NULL;
        int r;

        assert(g);
        assert(h);
        assert(ret);

        if (!g->x86) {
                *ret = (NvPveNesting){ .next = NV_VM_NESTING_UNKNOWN, .by = NV_VM_SOURCE_NOT_X86 };
                return 0;
        }

        r = nv_pve_args_cpu(g->args, &raw);
        if (r < 0)
                return r;
        if (raw) {
                NvVmNesting n = nv_vm_cpu_nesting(raw);
                *ret = (NvPveNesting){
                        .next = n,
                        .by = NV_VM_SOURCE_RAW_ARGS,
                        .requires = g->kvm && n == NV_VM_NESTING_EXPOSED && raw_cpu_requires(raw, h->vendor),
                };
                return 0;
        }
        return eval_cpu(g, h, ret);
}
