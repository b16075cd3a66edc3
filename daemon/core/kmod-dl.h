/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * libkmod, loaded with dlopen() on first use (dl-util.h). Debian's libkmod links OpenSSL's
 * libcrypto, whose relocations alone make up a quarter of an idle daemon's memory, and libcrypto
 * cannot be unloaded again: the daemon reads libkmod's answers through a child process
 * (module-facts.h) and maps libkmod itself only to change the module.
 */

#include <libkmod.h>

#include "dl-util.h"
#include "util.h"

NV_DLSYM_PROTOTYPE(kmod_config_get_options);
NV_DLSYM_PROTOTYPE(kmod_config_iter_free_iter);
NV_DLSYM_PROTOTYPE(kmod_config_iter_get_key);
NV_DLSYM_PROTOTYPE(kmod_config_iter_get_value);
NV_DLSYM_PROTOTYPE(kmod_config_iter_next);
NV_DLSYM_PROTOTYPE(kmod_list_next);
NV_DLSYM_PROTOTYPE(kmod_module_get_dependencies);
NV_DLSYM_PROTOTYPE(kmod_module_get_initstate);
NV_DLSYM_PROTOTYPE(kmod_module_get_module);
NV_DLSYM_PROTOTYPE(kmod_module_get_options);
NV_DLSYM_PROTOTYPE(kmod_module_get_path);
NV_DLSYM_PROTOTYPE(kmod_module_get_refcnt);
NV_DLSYM_PROTOTYPE(kmod_module_insert_module);
NV_DLSYM_PROTOTYPE(kmod_module_new_from_name);
NV_DLSYM_PROTOTYPE(kmod_module_probe_insert_module);
NV_DLSYM_PROTOTYPE(kmod_module_remove_module);
NV_DLSYM_PROTOTYPE(kmod_module_unref);
NV_DLSYM_PROTOTYPE(kmod_module_unref_list);
NV_DLSYM_PROTOTYPE(kmod_new);
NV_DLSYM_PROTOTYPE(kmod_unref);

/* Loads libkmod.so.2 and every sym_kmod* pointer, all or none (dlopen_many()). */
int dlopen_libkmod(void);

/* kmod_list_foreach() through the loaded library. */
#define nv_kmod_list_foreach(entry, first) \
        for ((entry) = (first); (entry); (entry) = sym_kmod_list_next((first), (entry)))

DEFINE_TRIVIAL_CLEANUP_FUNC(struct kmod_ctx *, sym_kmod_unref)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct kmod_module *, sym_kmod_module_unref)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct kmod_list *, sym_kmod_module_unref_list)
