/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Sentences about the next load's setting, shared by the verbs that change or show it. */

#include <stdio.h>

#include "nested-text.h"

const char *nv_source_phrase(const char *source)
{
        if (g_strcmp0(source, NV_SOURCE_KERNEL_CMDLINE) == 0)
                return "the kernel command line";
        if (g_strcmp0(source, NV_SOURCE_KERNEL_DEFAULT) == 0)
                return "the kernel default";
        return source;
}

char *nv_next_load_text(const char *next_load, const char *source)
{
        if (!source || !*source)
                return g_strdup(next_load);
        if (g_str_equal(source, NV_SOURCE_KERNEL_DEFAULT))
                return g_strdup_printf("%s (kernel default)", next_load);
        return g_strdup_printf("%s (from %s)", next_load, nv_source_phrase(source));
}

const char *nv_module_name(const NvStatusInfo *info)
{
        return info && info->module && *info->module ? info->module : "the KVM module";
}

gboolean nv_module_is_builtin(const NvStatusInfo *info)
{
        return info && g_strcmp0(info->module_state, "builtin") == 0;
}

const char *nv_next_load_phrase(const NvStatusInfo *info)
{
        return nv_module_is_builtin(info) ? "the next boot" : "the next load";
}

gboolean nv_warn_if_invalid(const NvStatusInfo *info, const char *next_load, const char *source)
{
        if (g_strcmp0(next_load, "invalid") != 0)
                return FALSE;

        fflush(stdout);

        g_printerr("Warning: %s sets an invalid value of nested, so %s of %s will fail; remove or change "
                   "it.\n",
                nv_source_phrase(source), nv_next_load_phrase(info), nv_module_name(info));
        return TRUE;
}

gboolean nv_warn_unless_dropin_decides(
        const NvStatusInfo *info, const char *want, const char *next_load, const char *source)
{
        const char *module = nv_module_name(info);
        const char *decider = source && *source ? nv_source_phrase(source) : "something else";
        gboolean as_asked = g_strcmp0(next_load, want) == 0;
        g_autofree char *what = NULL;

        if (g_strcmp0(source, NV_DROPIN_PATH) == 0)
                return FALSE;
        if (nv_warn_if_invalid(info, next_load, source))
                return TRUE;

        /* Stdout may be a pipe: the result line should come before the warning about it. */
        fflush(stdout);

        if (nv_module_is_builtin(info)) {
                /* Only the kernel command line sets a built-in module's parameters. */
                what = g_strdup_printf(
                        "%s is built into the kernel, so files in /etc/modprobe.d do not apply "
                        "to it: %s decides the next boot (nested %s)",
                        module, decider, next_load);
                if (as_asked)
                        g_printerr("Warning: %s.\n", what);
                else if (g_strcmp0(source, NV_SOURCE_KERNEL_CMDLINE) == 0)
                        g_printerr(
                                "Warning: %s. Change %s.nested= there, in the boot loader.\n", what, module);
                else
                        g_printerr("Warning: %s. Add %s.nested=%d to the kernel command line in the boot "
                                   "loader.\n",
                                what, module, g_strcmp0(want, "enabled") == 0 ? 1 : 0);
                return TRUE;
        }

        if (g_strcmp0(source, NV_SOURCE_KERNEL_CMDLINE) == 0)
                what = g_strdup_printf("The kernel command line still decides the next load (nested %s%s)",
                        next_load, as_asked ? ", as asked" : "");
        else
                what = g_strdup_printf("%s still decides the next load (nested %s%s)", decider, next_load,
                        as_asked ? ", as asked" : "");

        if (as_asked)
                /* The outcome is right, but a later change through nestvirt would not take effect. */
                g_printerr("Warning: %s, so " NV_DROPIN_PATH " has no effect while it does.\n", what);
        else if (g_strcmp0(source, NV_SOURCE_KERNEL_CMDLINE) == 0)
                g_printerr("Warning: %s: edit it in the boot loader.\n", what);
        else if (g_strcmp0(source, NV_SOURCE_KERNEL_DEFAULT) == 0 || !source || !*source)
                /* Not expected after a write of the drop-in; say what is known. */
                g_printerr("Warning: %s; 'nestvirtctl status' shows the settings.\n", what);
        else
                g_printerr("Warning: %s; remove or change it.\n", what);
        return TRUE;
}
