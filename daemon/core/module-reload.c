/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>

#include "module-reload.h"

#include "fileio.h"
#include "host-path.h"
#include "kvm-module.h"
#include "module-options.h"

static int nested_digit(NvNested v)
{
        return v == NV_NESTED_ENABLED ? 1 : 0;
}

static int open_module(const char *module, struct kmod_ctx **ret_ctx, struct kmod_module **ret_mod)
{
        _cleanup_free_ char *release = NULL;
        int r;

        r = nv_kernel_release(&release);
        if (r < 0)
                return r;
        r = nv_kmod_new(release, ret_ctx);
        if (r < 0)
                return r;
        r = sym_kmod_module_new_from_name(*ret_ctx, module, ret_mod);
        if (r < 0) {
                *ret_ctx = sym_kmod_unref(*ret_ctx);
                return r;
        }
        return 0;
}

/* Dependencies (kvm.ko) stay loaded when the vendor module goes, but may be missing on a first
 * load. Install commands from modprobe.d are never run: a root daemon does not exec them. */
static int load_dependencies(struct kmod_module *mod)
{
        _cleanup_(sym_kmod_module_unref_listp) struct kmod_list *deps =
                sym_kmod_module_get_dependencies(mod);
        struct kmod_list *l;

        nv_kmod_list_foreach(l, deps)
        {
                _cleanup_(sym_kmod_module_unrefp) struct kmod_module *dep = sym_kmod_module_get_module(l);
                int r;

                if (sym_kmod_module_get_initstate(dep) >= 0)
                        continue;
                r = sym_kmod_module_probe_insert_module(
                        dep, KMOD_PROBE_IGNORE_COMMAND | KMOD_PROBE_IGNORE_LOADED, NULL, NULL, NULL, NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

/*
 * Loads the module with the administrator's other options (unless bare) and an explicit nested
 * value (or the configured one when value is unknown). Every configured "nested" is dropped
 * first: an invalid one such as nested=Y for kvm_amd would otherwise make the kernel refuse the
 * load.
 */
static int load_with(struct kmod_module *mod, NvNested value, bool bare)
{
        _cleanup_free_ char *stripped = NULL, *options = NULL;
        const char *configured = bare ? NULL : sym_kmod_module_get_options(mod);
        int r;

        r = load_dependencies(mod);
        if (r < 0)
                return r;

        if (value == NV_NESTED_ENABLED || value == NV_NESTED_DISABLED) {
                r = nv_options_strip_nested(strempty(configured), &stripped);
                if (r < 0)
                        return r;
                if (asprintf(&options, "%s%snested=%d", stripped, isempty(stripped) ? "" : " ",
                            nested_digit(value)) < 0)
                        return -ENOMEM;
        } else {
                options = strdup(strempty(configured));
                if (!options)
                        return -ENOMEM;
        }

        return sym_kmod_module_insert_module(mod, 0, options);
}

/* Restoring the module matters more than the administrator's other options: if they make the
 * kernel refuse the load (one may have been added since boot), try once more without them. */
static int load_restoring(struct kmod_module *mod, NvNested value)
{
        int r = load_with(mod, value, false);

        if (r == -EINVAL || r == -ENOENT || r == -ERANGE)
                r = load_with(mod, value, true);
        return r;
}

/* The file the next load needs must be there before anything is unloaded: after a kernel
 * upgrade the running kernel's modules may be gone. */
static bool module_file_present(struct kmod_module *mod)
{
        const char *path = sym_kmod_module_get_path(mod);
        return path && access(path, R_OK) == 0;
}

static int write_intent(const char *module, NvNested before, NvNested want)
{
        _cleanup_free_ char *content = NULL;
        int r;

        /* systemd creates /run/nestvirt (RuntimeDirectory=); elsewhere the daemon does. */
        r = nv_host_mkdir("/run/nestvirt", 0755);
        if (r < 0)
                return r;
        if (asprintf(&content, "module=%s\nprevious=%s\nrequested=%s\n", module, nv_nested_to_string(before),
                    nv_nested_to_string(want)) < 0)
                return -ENOMEM;
        return nv_write_file_atomic(NV_RELOAD_INTENT_PATH, content, 0644);
}

/* After a failure with the module unloaded: load it again as it was, and check. */
static void roll_back(struct kmod_module *mod, const char *module, NvReloadResult *res)
{
        int r = load_restoring(mod, res->before);

        if (r >= 0 && res->before != NV_NESTED_UNKNOWN && nv_module_read_nested(module) != res->before)
                r = -EIO;
        res->rolled_back = r >= 0;
        res->rollback_error = r < 0 ? r : 0;
}

int nv_module_reload(const char *module, NvNested want, NvReloadResult *ret)
{
        _cleanup_(sym_kmod_unrefp) struct kmod_ctx *ctx = NULL;
        _cleanup_(sym_kmod_module_unrefp) struct kmod_module *mod = NULL;
        NvReloadResult res = { .status = NV_RELOAD_DONE };
        int r, state;

        assert(module);
        assert(ret);

        if (want != NV_NESTED_ENABLED && want != NV_NESTED_DISABLED)
                return -EINVAL;

        r = open_module(module, &ctx, &mod);
        if (r < 0)
                return r;

        state = sym_kmod_module_get_initstate(mod);
        res.was_loaded =
                state == KMOD_MODULE_LIVE || state == KMOD_MODULE_COMING || state == KMOD_MODULE_GOING;
        res.before = res.after = res.was_loaded || state == KMOD_MODULE_BUILTIN
                ? nv_module_read_nested(module)
                : NV_NESTED_UNKNOWN;

        if (state == KMOD_MODULE_BUILTIN)
                res.status = NV_RELOAD_BUILTIN;
        else if (nv_modules_disabled())
                res.status = NV_RELOAD_MODULES_DISABLED;
        else if (!module_file_present(mod))
                res.status = NV_RELOAD_UNAVAILABLE;
        else if (res.was_loaded && sym_kmod_module_get_refcnt(mod) > 0)
                res.status = NV_RELOAD_IN_USE;
        if (res.status != NV_RELOAD_DONE)
                goto finish;

        if (res.was_loaded) {
                r = write_intent(module, res.before, want);
                if (r < 0) {
                        res = (NvReloadResult){ .status = NV_RELOAD_UNLOAD_FAILED,
                                .error = r,
                                .failed_step = "record",
                                .was_loaded = true,
                                .before = res.before,
                                .after = res.before };
                        goto finish;
                }

                /* libkmod removes with O_NONBLOCK: a module in use fails instead of waiting. */
                r = sym_kmod_module_remove_module(mod, 0);
                if (r < 0 && r != -ENOENT) {
                        (void) nv_remove_file(NV_RELOAD_INTENT_PATH);
                        res.error = r;
                        res.failed_step = "unload";
                        res.status = r == -EAGAIN || r == -EBUSY       ? NV_RELOAD_IN_USE
                                : r == -EPERM && nv_modules_disabled() ? NV_RELOAD_MODULES_DISABLED
                                                                       : NV_RELOAD_UNLOAD_FAILED;
                        goto finish;
                }
        }

        r = load_with(mod, want, false);
        if (r < 0) {
                res.error = r;
                res.failed_step = "load";
        } else if (nv_module_read_nested(module) != want) {
                res.error = -EIO;
                res.failed_step = "verify";
                /* Loaded, but not as asked: take it out again before restoring the old value. */
                r = sym_kmod_module_remove_module(mod, 0);
                if (r < 0 && r != -ENOENT) {
                        res.rollback_error = r;
                        res.status = NV_RELOAD_FAILED;
                        goto done;
                }
        }

        if (res.failed_step) {
                res.status = NV_RELOAD_FAILED;
                if (res.was_loaded)
                        roll_back(mod, module, &res);
        }

done:
        /* The record stays when the module could not be restored, so recovery tries again. */
        if (res.status == NV_RELOAD_DONE || res.rolled_back)
                (void) nv_remove_file(NV_RELOAD_INTENT_PATH);
finish:
        res.after =
                sym_kmod_module_get_initstate(mod) >= 0 ? nv_module_read_nested(module) : NV_NESTED_UNKNOWN;
        *ret = res;
        return 0;
}

static int intent_field(const char *text, const char *key, char **ret)
{
        for (const char *p = text; p && *p;) {
                const char *eol = strchr(p, '\n') ?: p + strlen(p);
                const char *v = startswith(p, key);

                if (v && *v == '=') {
                        *ret = strndup(v + 1, (size_t) (eol - v - 1));
                        return *ret ? 0 : -ENOMEM;
                }
                p = *eol ? eol + 1 : eol;
        }
        return -EBADMSG;
}

int nv_reload_intent_parse(const char *text, char **ret_module, NvNested *ret_previous)
{
        _cleanup_free_ char *module = NULL, *previous = NULL;
        int r;

        assert(text);
        assert(ret_module);
        assert(ret_previous);

        r = intent_field(text, "module", &module);
        if (r < 0)
                return r;
        r = intent_field(text, "previous", &previous);
        if (r < 0)
                return r;
        if (!streq(module, "kvm_intel") && !streq(module, "kvm_amd"))
                return -EBADMSG;

        *ret_previous = streq(previous, "enabled") ? NV_NESTED_ENABLED
                : streq(previous, "disabled")      ? NV_NESTED_DISABLED
                                                   : NV_NESTED_UNKNOWN;
        *ret_module = TAKE_PTR(module);
        return 0;
}

int nv_reload_recover(char **ret_module, NvNested *ret_value)
{
        _cleanup_free_ char *text = NULL, *module = NULL;
        _cleanup_(sym_kmod_unrefp) struct kmod_ctx *ctx = NULL;
        _cleanup_(sym_kmod_module_unrefp) struct kmod_module *mod = NULL;
        NvNested value;
        int r;

        r = nv_host_read_file(NV_RELOAD_INTENT_PATH, &text, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;

        r = nv_reload_intent_parse(text, &module, &value);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                /* Not ours to interpret: drop it rather than act on garbage. */
                (void) nv_remove_file(NV_RELOAD_INTENT_PATH);
                return -EBADMSG;
        }

        r = open_module(module, &ctx, &mod);
        if (r < 0)
                return r;

        if (sym_kmod_module_get_initstate(mod) >= 0) {
                /* Loaded again meanwhile (the reload finished, or someone loaded it). */
                (void) nv_remove_file(NV_RELOAD_INTENT_PATH);
                return 0;
        }

        r = load_restoring(mod, value);
        if (r < 0)
                return r;
        (void) nv_remove_file(NV_RELOAD_INTENT_PATH);

        if (ret_value)
                *ret_value = value;
        if (ret_module)
                *ret_module = TAKE_PTR(module);
        return 1;
}

static const char *errno_text(int r)
{
        return strerror(r < 0 ? -r : r);
}

char *nv_reload_result_describe(const char *module, NvNested want, const NvReloadResult *r)
{
        char *s = NULL;
        int k = -1;

        assert(module);
        assert(r);

        switch (r->status) {
        case NV_RELOAD_DONE:
                k = asprintf(&s, "%s reloaded with nested %s.", module, nv_nested_to_string(want));
                break;
        case NV_RELOAD_IN_USE:
                k = asprintf(&s, "%s is in use (VMs or other programs hold /dev/kvm); nothing was unloaded.",
                        module);
                break;
        case NV_RELOAD_BUILTIN:
                k = asprintf(&s,
                        "%s is built into the kernel; add %s.nested=%d to the kernel command line and "
                        "reboot.",
                        module, module, nested_digit(want));
                break;
        case NV_RELOAD_MODULES_DISABLED:
                k = asprintf(&s,
                        "Loading and unloading modules is disabled (kernel.modules_disabled=1) until the "
                        "next boot.");
                break;
        case NV_RELOAD_UNAVAILABLE:
                k = asprintf(&s, "%s is not installed for the running kernel.", module);
                break;
        case NV_RELOAD_UNLOAD_FAILED:
                k = asprintf(&s, "Could not %s %s: %s; the module was not touched.",
                        streq_ptr(r->failed_step, "record") ? "record the reload of" : "unload", module,
                        errno_text(r->error));
                break;
        case NV_RELOAD_FAILED:
                if (r->rolled_back)
                        k = asprintf(&s,
                                "Reloading %s failed at %s (%s); rolled back: %s is loaded with nested %s "
                                "as before.",
                                module, r->failed_step, errno_text(r->error), module,
                                nv_nested_to_string(r->after));
                else if (r->was_loaded)
                        k = asprintf(&s,
                                "Reloading %s failed at %s (%s) and the rollback failed too (%s); %s is %s.",
                                module, r->failed_step, errno_text(r->error), errno_text(r->rollback_error),
                                module, r->after == NV_NESTED_UNKNOWN ? "NOT loaded" : "loaded");
                else
                        k = asprintf(&s,
                                "Loading %s failed at %s (%s); it was not loaded before and is not now.",
                                module, r->failed_step, errno_text(r->error));
                break;
        }
        return k < 0 ? NULL : s;
}
