/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* "nestvirtctl enable|disable [--runtime] [--persistent]": SetNested. Without either option both
 * parts change: the live value now (a reload of the module) and the drop-in for the next boot.
 * disable refuses while VMs require nesting at their next start, unless --ignore-requiring-vms. */

#include <stdio.h>

#include "bus.h"
#include "json-output.h"
#include "nested-text.h"
#include "nestvirt-client.h"
#include "status-info.h"
#include "text.h"
#include "verbs.h"

/* What happened to the module, for the parenthesis after "now". */
static char *runtime_detail(const NvStatusInfo *before, const char *want)
{
        const char *module = nv_module_name(before);

        if (g_strcmp0(before->nested, want) == 0)
                return g_strdup("it already was");
        if (g_strcmp0(before->module_state, "loaded") == 0)
                return g_strdup_printf("%s reloaded", module);
        return g_strdup_printf("%s loaded", module);
}

static void print_result(const NvStatusInfo *before, NvScope scope, const char *want, const char *nested,
        const char *next_load, const char *source)
{
        gboolean runtime_ok = (scope & NV_SCOPE_RUNTIME) && g_str_equal(nested, want);
        gboolean persistent_ok = g_str_equal(source, NV_DROPIN_PATH) && g_str_equal(next_load, want);
        g_autofree char *detail = runtime_ok ? runtime_detail(before, want) : NULL;
        g_autofree char *next = NULL;

        switch (scope) {
        case NV_SCOPE_BOTH:
                if (runtime_ok && persistent_ok)
                        printf("Nested virtualization is %s now (%s) and after the next boot.\n", want,
                                detail);
                else if (runtime_ok)
                        printf("Nested virtualization is %s now (%s); the setting for the next boot is "
                               "saved "
                               "in " NV_DROPIN_PATH ".\n",
                                want, detail);
                else if (persistent_ok)
                        printf("Nested virtualization will be %s after the next boot.\n", want);
                else
                        printf("The setting for the next boot is saved in " NV_DROPIN_PATH ".\n");
                break;
        case NV_SCOPE_RUNTIME:
                if (!runtime_ok)
                        break;
                next = nv_next_load_text(next_load, source);
                printf("Nested virtualization is %s now (%s). After the next boot it will be %s.\n", want,
                        detail, next);
                break;
        case NV_SCOPE_PERSISTENT:
                if (!persistent_ok)
                        printf("Saved nested %s in " NV_DROPIN_PATH ".\n", want);
                else if (g_str_equal(nested, want))
                        printf("Nested virtualization will be %s after the next boot (it is %s now too).\n",
                                want, nested);
                else if (g_str_equal(nested, "enabled") || g_str_equal(nested, "disabled"))
                        printf("Nested virtualization will be %s after the next boot; it is %s now "
                               "('nestvirtctl %s --runtime' changes that).\n",
                                want, nested, g_str_equal(want, "enabled") ? "enable" : "disable");
                else
                        printf("Nested virtualization will be %s after the next boot.\n", want);
                break;
        }
}

/* Refused because VMs require nesting: the command that hides it from each, after the hint. The
 * daemon's message names them; this only adds what to type. */
static void print_requiring_vms(NvCtl *ctl)
{
        g_auto(NvVmObjectList) list = {};
        g_autoptr(GError) error = NULL;

        if (!nv_client_get_vm_objects(ctl, &list, &error))
                return;
        for (guint i = 0; i < list.vms->len; i++) {
                const NvVmObject *vm = list.vms->pdata[i];
                g_autofree char *key = NULL, *printable = NULL, *name = NULL;

                if (!vm->requires.set || !vm->requires.value)
                        continue;
                key = nv_vm_object_key(vm);
                printable = nv_text_printable(key);
                name = nv_text_printable(vm->name);
                g_printerr("  nestvirtctl vm hide %s%s%s\n", printable, *name ? "    # " : "", name);
        }
}

NvExitCode nv_set_nested_and_report(NvCtl *ctl, gboolean enable, NvScope scope, guint64 flags,
        gboolean print_json, NvSetNestedReply *reply)
{
        const char *want = enable ? "enabled" : "disabled";
        g_autoptr(NvStatusInfo) before = NULL;
        g_autoptr(GError) error = NULL;
        NvExitCode r = NV_EXIT_SUCCESS;

        /* The state before tells whether the module was reloaded, loaded, or left alone, and
         * names the module; properties are free to read. */
        if (!nv_client_get_status(ctl, &before, &error))
                return nv_bus_report_error(error, "query nestvirtd");

        if (!nv_client_set_nested(ctl, enable, (guint64) scope | flags, reply, &error)) {
                r = nv_bus_report_change_error(
                        error, enable ? "enable nested virtualization" : "disable nested virtualization");
                if (nv_bus_error_is(error, NV_ERROR_VMS_REQUIRE_NESTING))
                        print_requiring_vms(ctl);
                return r;
        }

        if (ctl->json == NV_JSON_OFF)
                print_result(before, scope, want, reply->nested, reply->next_load, reply->next_load_source);
        else if (print_json)
                r = nv_json_print_set_nested(reply, ctl->json);

        /* Warnings go to stderr, so they reach a person even when stdout is JSON for a script;
         * after the result line, also when both are one pipe. */
        fflush(stdout);
        if ((scope & NV_SCOPE_RUNTIME) && !g_str_equal(reply->nested, want))
                g_printerr("Warning: nested virtualization is %s now, not %s as asked; 'nestvirtctl status' "
                           "shows why.\n",
                        reply->nested, want);
        if (scope & NV_SCOPE_PERSISTENT)
                (void) nv_warn_unless_dropin_decides(
                        before, want, reply->next_load, reply->next_load_source);

        return r;
}

NvExitCode nv_verb_set(NvCtl *ctl, int argc, char **argv)
{
        gboolean enable = g_str_equal(argv[0], "enable");
        NvScope scope = ctl->scope ? ctl->scope : NV_SCOPE_BOTH;
        guint64 flags = ctl->ignore_requiring_vms ? NV_SET_IGNORE_REQUIRING_VMS : 0;
        g_auto(NvSetNestedReply) reply = {};

        return nv_set_nested_and_report(ctl, enable, scope, flags, TRUE, &reply);
}
