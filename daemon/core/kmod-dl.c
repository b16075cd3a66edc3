/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "kmod-dl.h"

NV_DLSYM_DEFINE(kmod_config_get_options);
NV_DLSYM_DEFINE(kmod_config_iter_free_iter);
NV_DLSYM_DEFINE(kmod_config_iter_get_key);
NV_DLSYM_DEFINE(kmod_config_iter_get_value);
NV_DLSYM_DEFINE(kmod_config_iter_next);
NV_DLSYM_DEFINE(kmod_list_next);
NV_DLSYM_DEFINE(kmod_module_get_dependencies);
NV_DLSYM_DEFINE(kmod_module_get_initstate);
NV_DLSYM_DEFINE(kmod_module_get_module);
NV_DLSYM_DEFINE(kmod_module_get_options);
NV_DLSYM_DEFINE(kmod_module_get_path);
NV_DLSYM_DEFINE(kmod_module_get_refcnt);
NV_DLSYM_DEFINE(kmod_module_insert_module);
NV_DLSYM_DEFINE(kmod_module_new_from_name);
NV_DLSYM_DEFINE(kmod_module_probe_insert_module);
NV_DLSYM_DEFINE(kmod_module_remove_module);
NV_DLSYM_DEFINE(kmod_module_unref);
NV_DLSYM_DEFINE(kmod_module_unref_list);
NV_DLSYM_DEFINE(kmod_new);
NV_DLSYM_DEFINE(kmod_unref);

static void *libkmod_dl = NULL;

int dlopen_libkmod(void)
{
        return dlopen_many(&libkmod_dl, "libkmod.so.2", NV_DLOPEN_INTERPOSABLE,
                NV_DLSYM_ARG(kmod_config_get_options), NV_DLSYM_ARG(kmod_config_iter_free_iter),
                NV_DLSYM_ARG(kmod_config_iter_get_key), NV_DLSYM_ARG(kmod_config_iter_get_value),
                NV_DLSYM_ARG(kmod_config_iter_next), NV_DLSYM_ARG(kmod_list_next),
                NV_DLSYM_ARG(kmod_module_get_dependencies), NV_DLSYM_ARG(kmod_module_get_initstate),
                NV_DLSYM_ARG(kmod_module_get_module), NV_DLSYM_ARG(kmod_module_get_options),
                NV_DLSYM_ARG(kmod_module_get_path), NV_DLSYM_ARG(kmod_module_get_refcnt),
                NV_DLSYM_ARG(kmod_module_insert_module), NV_DLSYM_ARG(kmod_module_new_from_name),
                NV_DLSYM_ARG(kmod_module_probe_insert_module), NV_DLSYM_ARG(kmod_module_remove_module),
                NV_DLSYM_ARG(kmod_module_unref), NV_DLSYM_ARG(kmod_module_unref_list),
                NV_DLSYM_ARG(kmod_new), NV_DLSYM_ARG(kmod_unref), (void **) NULL);
}
