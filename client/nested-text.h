/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "nestvirt-names.h" /* NV_DROPIN_PATH and the non-path sources NV_SOURCE_* */
#include "status-info.h"

/* A source as a phrase that fits after "from" or "in": a path, "the kernel command line" or "the
 * kernel default". */
const char *nv_source_phrase(const char *source);

/* "enabled (from /etc/modprobe.d/kvm.conf)", "disabled (kernel default)": a value of
 * NestedNextLoad with the source that decides it. */
char *nv_next_load_text(const char *next_load, const char *source);

/* The module's name for a sentence: "kvm_amd", or "the KVM module" when unknown. */
const char *nv_module_name(const NvStatusInfo *info);

gboolean nv_module_is_builtin(const NvStatusInfo *info);

/* What the next change of the setting is called: the next load of the module, or for a built-in
 * module (the kernel command line alone decides) the next boot. */
const char *nv_next_load_phrase(const NvStatusInfo *info);

/* After a persistent change, warns on stderr when something other than the drop-in decides the
 * next load, so the change the user asked for will not take effect there. info describes the host
 * (its module and whether it is built in); next_load and source are from the reply. Returns
 * whether it warned. */
gboolean nv_warn_unless_dropin_decides(
        const NvStatusInfo *info, const char *want, const char *next_load, const char *source);

/* Warns on stderr when next_load is "invalid": then the next load of the module fails. */
gboolean nv_warn_if_invalid(const NvStatusInfo *info, const char *next_load, const char *source);
