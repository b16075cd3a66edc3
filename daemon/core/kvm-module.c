/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sys/utsname.h>

#include "host-path.h"
#include "kvm-module.h"

static const char *const nv_module_state_table[] = {
        [NV_MODULE_LOADED] = "loaded",
        [NV_MODULE_BUILTIN] = "builtin",
        [NV_MODULE_NOT_LOADED] = "not-loaded",
        [NV_MODULE_UNAVAILABLE] = "unavailable",
};

NV_DEFINE_STRING_TABLE_FALLBACK(nv_module_state, NvModuleState, NV_MODULE_UNAVAILABLE)

/* NV_VENDOR_UNKNOWN has no module: its entry stays NULL. */
static const char *const nv_vendor_module_table[] = {
        [NV_VENDOR_INTEL] = "kvm_intel",
        [NV_VENDOR_AMD] = "kvm_amd",
};

NV_DEFINE_STRING_TABLE(nv_vendor_module, NvVendor)

NvParamType nv_module_param_type(const char *module)
{
        /* kvm_amd declares nested as int, kvm_intel as bool. */
        return streq_ptr(module, "kvm_amd") ? NV_PARAM_INT : NV_PARAM_BOOL;
}

int nv_kernel_release(char **ret)
{
        int r = nv_host_read_line("/proc/sys/kernel/osrelease", ret);
        if (r >= 0 && !isempty(*ret))
                return 0;
        if (r >= 0)
                free(*ret);
        *ret = NULL;
        if (!isempty(nv_host_root()))
                return r < 0 ? r : -ENODATA;

        struct utsname u;
        if (uname(&u) < 0)
                return -errno;
        *ret = strdup(u.release);
        return *ret ? 0 : -ENOMEM;
}

int nv_kmod_new(const char *release, struct kmod_ctx **ret)
{
        _cleanup_free_ char *modules = NULL, *dirname = NULL;
        _cleanup_strv_free_ char **paths = NULL;
        struct kmod_ctx *ctx;
        int r;

        r = dlopen_libkmod();
        if (r < 0)
                return r;

        if (asprintf(&modules, "/lib/modules/%s", strempty(release)) < 0)
                return -ENOMEM;
        dirname = nv_host_path(modules);
        if (!dirname)
                return -ENOMEM;

        for (size_t i = 0; nv_modprobe_dirs[i]; i++) {
                _cleanup_free_ char *p = nv_host_path(nv_modprobe_dirs[i]);
                if (!p || strv_extend(&paths, p) < 0)
                        return -ENOMEM;
        }

        ctx = sym_kmod_new(dirname, (const char *const *) paths);
        if (!ctx)
                return -ENOMEM;
        *ret = ctx;
        return 0;
}

int nv_module_get_state(
        struct kmod_ctx *ctx, const char *module, NvModuleState *ret_state, unsigned *ret_refcnt)
{
        _cleanup_(sym_kmod_module_unrefp) struct kmod_module *mod = NULL;
        int r;

        *ret_state = NV_MODULE_UNAVAILABLE;
        *ret_refcnt = 0;

        r = sym_kmod_module_new_from_name(ctx, module, &mod);
        if (r < 0)
                return r;

        r = sym_kmod_module_get_initstate(mod);
        switch (r) {
        case KMOD_MODULE_BUILTIN:
                *ret_state = NV_MODULE_BUILTIN;
                return 0;
        case KMOD_MODULE_LIVE:
        case KMOD_MODULE_COMING:
        case KMOD_MODULE_GOING:
                *ret_state = NV_MODULE_LOADED;
                r = sym_kmod_module_get_refcnt(mod);
                *ret_refcnt = r > 0 ? (unsigned) r : 0;
                return 0;
        default:
                break;
        }

        /* Not in the kernel: installed for this kernel when modules.dep knows its file. */
        if (sym_kmod_module_get_path(mod))
                *ret_state = NV_MODULE_NOT_LOADED;
        return 0;
}

NvNested nv_module_read_nested(const char *module)
{
        _cleanup_free_ char *p = NULL, *v = NULL;

        if (asprintf(&p, "/sys/module/%s/parameters/nested", module) < 0)
                return NV_NESTED_UNKNOWN;
        if (nv_host_read_line(p, &v) < 0)
                return NV_NESTED_UNKNOWN;
        return nv_nested_parse_live(v);
}

bool nv_modules_disabled(void)
{
        _cleanup_free_ char *v = NULL;

        if (nv_host_read_line("/proc/sys/kernel/modules_disabled", &v) < 0)
                return false;
        return streq(v, "1");
}
