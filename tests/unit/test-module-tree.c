/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The module trees that tests/fixtures/make-module-tree.sh builds, read by the real libkmod: the
 * fake modules must look like the real ones to everything the core asks of libkmod.
 */
#include <check.h>
#include <libkmod.h>

#include "fixture.h"
#include "util.h"

#define RELEASE "6.1.0-27-amd64"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct kmod_ctx *, kmod_unref)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct kmod_module *, kmod_module_unref)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct kmod_list *, kmod_module_unref_list)

static struct kmod_ctx *ctx_for(const NvFixture *f, const char *release)
{
        const char *const no_config[] = { NULL };
        char dir[4096];
        struct kmod_ctx *ctx;

        ck_assert_int_lt(
                snprintf(dir, sizeof(dir), "%s/lib/modules/%s", f->root, release), (int) sizeof(dir));
        ctx = kmod_new(dir, no_config);
        ck_assert_ptr_nonnull(ctx);
        return ctx;
}

/* Looks name up as modprobe would (aliases, '-' for '_') and returns the one module found. */
static struct kmod_module *lookup(struct kmod_ctx *ctx, const char *name)
{
        _cleanup_(kmod_module_unref_listp) struct kmod_list *l = NULL;

        ck_assert_int_eq(kmod_module_new_from_lookup(ctx, name, &l), 0);
        if (!l)
                return NULL;
        ck_assert_ptr_null(kmod_list_next(l, l)); /* exactly one */
        return kmod_module_get_module(l);
}

static bool has_info(struct kmod_module *m, const char *key, const char *value)
{
        struct kmod_list *info = NULL, *i;
        bool found = false;

        ck_assert_int_ge(kmod_module_get_info(m, &info), 0);
        kmod_list_foreach(i, info)
        {
                if (streq(kmod_module_info_get_key(i), key) && streq(kmod_module_info_get_value(i), value))
                        found = true;
        }
        kmod_module_info_free_list(info);
        return found;
}

static bool path_ends_with(const char *path, const char *suffix)
{
        size_t a = strlen(path), b = strlen(suffix);
        return a >= b && streq(path + a - b, suffix);
}

START_TEST(test_loadable)
{
        _cleanup_(kmod_unrefp) struct kmod_ctx *ctx = NULL;
        _cleanup_(kmod_module_unrefp) struct kmod_module *amd = NULL, *dashed = NULL, *kvm = NULL,
                                                         *intel = NULL;
        _cleanup_(kmod_module_unref_listp) struct kmod_list *deps = NULL;
        NvFixture *f = NULL;
        const char *path;

        ck_assert_int_eq(nv_fixture_new("amd-host", &f), 0);
        ctx = ctx_for(f, RELEASE);

        amd = lookup(ctx, "kvm_amd");
        ck_assert_ptr_nonnull(amd);
        ck_assert_str_eq(kmod_module_get_name(amd), "kvm_amd");
        path = kmod_module_get_path(amd);
        ck_assert_ptr_nonnull(path);
        ck_assert_msg(
                path_ends_with(path, "/lib/modules/" RELEASE "/kernel/arch/x86/kvm/kvm-amd.ko"), "%s", path);
        ck_assert_int_eq(access(path, R_OK), 0);

        /* Module names match with '-' for '_', as in modprobe kvm-amd. */
        dashed = lookup(ctx, "kvm-amd");
        ck_assert_ptr_nonnull(dashed);
        ck_assert_str_eq(kmod_module_get_name(dashed), "kvm_amd");

        /* depmod found the dependency through the kvm_init symbol. */
        deps = kmod_module_get_dependencies(amd);
        ck_assert_ptr_nonnull(deps);
        {
                _cleanup_(kmod_module_unrefp) struct kmod_module *d = kmod_module_get_module(deps);
                ck_assert_str_eq(kmod_module_get_name(d), "kvm");
                ck_assert_ptr_null(kmod_list_next(deps, deps));
        }

        kvm = lookup(ctx, "kvm");
        ck_assert_ptr_nonnull(kvm);
        ck_assert(path_ends_with(kmod_module_get_path(kvm), "/kernel/arch/x86/kvm/kvm.ko"));

        /* What the core may validate options against. */
        ck_assert(has_info(amd, "parmtype", "nested:int"));
        ck_assert(has_info(amd, "vermagic", RELEASE " SMP preempt mod_unload modversions "));
        ck_assert(has_info(amd, "depends", "kvm"));
        ck_assert(!has_info(amd, "parmtype", "nested:bool"));

        /* kvm_intel is not installed on this host. */
        intel = lookup(ctx, "kvm_intel");
        ck_assert_ptr_null(intel);

        nv_fixture_free(f);
}
END_TEST

START_TEST(test_builtin)
{
        _cleanup_(kmod_unrefp) struct kmod_ctx *ctx = NULL;
        _cleanup_(kmod_module_unrefp) struct kmod_module *intel = NULL, *kvm = NULL;
        NvFixture *f = NULL;

        ck_assert_int_eq(nv_fixture_new("intel-builtin", &f), 0);
        ctx = ctx_for(f, RELEASE);

        intel = lookup(ctx, "kvm_intel");
        ck_assert_ptr_nonnull(intel);
        /* Answered from modules.builtin.bin without looking at /sys. */
        ck_assert_int_eq(kmod_module_get_initstate(intel), KMOD_MODULE_BUILTIN);
        ck_assert_ptr_null(kmod_module_get_path(intel));
        /* modinfo of a built-in module comes from modules.builtin.modinfo. */
        ck_assert(has_info(intel, "parmtype", "nested:bool"));

        kvm = lookup(ctx, "kvm");
        ck_assert_ptr_nonnull(kvm);
        ck_assert_int_eq(kmod_module_get_initstate(kvm), KMOD_MODULE_BUILTIN);

        nv_fixture_free(f);
}
END_TEST

/* amd-unavailable has a tree only for the previous kernel. */
START_TEST(test_other_release)
{
        _cleanup_(kmod_unrefp) struct kmod_ctx *old = NULL, *running = NULL;
        _cleanup_(kmod_module_unrefp) struct kmod_module *m = NULL, *none = NULL;
        _cleanup_(kmod_module_unrefp) struct kmod_module *by_name = NULL;
        NvFixture *f = NULL;

        ck_assert_int_eq(nv_fixture_new("amd-unavailable", &f), 0);

        old = ctx_for(f, "6.1.0-26-amd64");
        m = lookup(old, "kvm_amd");
        ck_assert_ptr_nonnull(m);
        ck_assert(path_ends_with(
                kmod_module_get_path(m), "/lib/modules/6.1.0-26-amd64/kernel/arch/x86/kvm/kvm-amd.ko"));

        running = ctx_for(f, RELEASE);
        none = lookup(running, "kvm_amd");
        ck_assert_ptr_null(none);
        ck_assert_int_eq(kmod_module_new_from_name(running, "kvm_amd", &by_name), 0);
        ck_assert_ptr_null(kmod_module_get_path(by_name));

        nv_fixture_free(f);
}
END_TEST

/* The script on its own: bad input fails instead of building half a tree. */
START_TEST(test_script_errors)
{
        _cleanup_free_ char *script = nv_fixture_source_path("make-module-tree.sh");
        NvFixture *f = NULL;
        char cmd[8192];

        ck_assert_ptr_nonnull(script);
        ck_assert_int_eq(nv_fixture_new(NULL, &f), 0);

        snprintf(cmd, sizeof(cmd), "sh '%s' '%s' %s 'kvm kvm_foo' '' 2>/dev/null", script, f->root, RELEASE);
        ck_assert_int_ne(system(cmd), 0);
        snprintf(cmd, sizeof(cmd), "sh '%s' '%s' 2>/dev/null", script, f->root);
        ck_assert_int_ne(system(cmd), 0);
        snprintf(cmd, sizeof(cmd), "sh '%s' '%s' %s '' '' >/dev/null 2>&1", script, f->root, RELEASE);
        ck_assert_int_eq(system(cmd), 0);

        nv_fixture_free(f);
}
END_TEST

static Suite *module_tree_suite(void)
{
        Suite *s = suite_create("module-tree");
        TCase *tc = tcase_create("libkmod");

        tcase_add_test(tc, test_loadable);
        tcase_add_test(tc, test_builtin);
        tcase_add_test(tc, test_other_release);
        tcase_add_test(tc, test_script_errors);
        tcase_set_timeout(tc, 120);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return nv_fixture_run_suite(module_tree_suite());
}
