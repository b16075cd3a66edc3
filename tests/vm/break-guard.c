/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * break-guard: an LD_PRELOAD library that turns nestvirtd into a daemon that ignores the
 * running-VM guard, for the self-test of the QEMU tier (which must then FAIL).
 *
 * It does what a careless implementation would do: it believes nobody uses the module (the
 * reference count reads 0) and, when the kernel refuses the unload because the module is in use,
 * forces it (KMOD_REMOVE_FORCE, i.e. delete_module with O_TRUNC; Debian's kernel is built with
 * CONFIG_MODULE_FORCE_UNLOAD=y). The VM that holds /dev/kvm then loses its module under its feet:
 * exactly what the tier's VMsRunning checks exist to catch.
 */

#include <dlfcn.h>
#include <errno.h>
#include <libkmod.h>
#include <stdio.h>

#define EXPORT __attribute__((visibility("default")))

int kmod_module_get_refcnt(const struct kmod_module *mod);
int kmod_module_remove_module(struct kmod_module *mod, unsigned int flags);

static void *next_symbol(const char *name)
{
        void *sym = dlsym(RTLD_NEXT, name);
        if (!sym)
                fprintf(stderr, "break-guard: %s not found: %s\n", name, dlerror());
        return sym;
}

EXPORT int kmod_module_get_refcnt(const struct kmod_module *mod)
{
        (void) mod;
        return 0;
}

EXPORT int kmod_module_remove_module(struct kmod_module *mod, unsigned int flags)
{
        static int (*real)(struct kmod_module *, unsigned int);

        if (!real)
                real = (int (*)(struct kmod_module *, unsigned int)) next_symbol(
                        "kmod_module_remove_module");
        if (!real)
                return -ENOSYS;

        fprintf(stderr, "break-guard: forcing the unload of %s\n", kmod_module_get_name(mod));
        return real(mod, flags | KMOD_REMOVE_FORCE);
}
