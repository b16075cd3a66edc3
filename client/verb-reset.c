/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* "nestvirtctl reset": ResetPersistent removes the drop-in, so the other modprobe.d files, the
 * kernel command line or the kernel default decide the next load again. It never touches the
 * live value. */

#include <stdio.h>

#include "bus.h"
#include "json-output.h"
#include "nested-text.h"
#include "nestvirt-client.h"
#include "status-info.h"
#include "verbs.h"

/* Whether the drop-in was among the settings before. NestedSettings leaves files out for a
 * built-in module, so there the answer is unknown: -1. */
static int had_dropin(const NvStatusInfo *before)
{
        if (nv_module_is_builtin(before) || !before->nested_settings)
                return -1;
        for (guint i = 0; i < before->nested_settings->len; i++) {
                const NvNestedSetting *s = before->nested_settings->pdata[i];

                if (g_str_equal(s->source, NV_DROPIN_PATH))
                        return 1;
        }
        return 0;
}

static void print_result(const NvStatusInfo *before, const char *next_load, const char *source)
{
        const char *module = nv_module_name(before);

        switch (had_dropin(before)) {
        case 1:
                printf("Removed " NV_DROPIN_PATH ". ");
                break;
        case 0:
                printf("There was no " NV_DROPIN_PATH " to remove. ");
                break;
        default:
                break;
        }

        if (!*source)
                /* Only when the CPU has no KVM module: nothing decides anything. */
                printf("No setting applies: this CPU has no KVM module.\n");
        else if (nv_module_is_builtin(before))
                printf("The next boot follows %s (nested %s).\n", nv_source_phrase(source), next_load);
        else
                printf("The next load of %s follows %s (nested %s).\n", module, nv_source_phrase(source),
                        next_load);

        /* A loaded module keeps its value until it is loaded again. */
        if (g_strcmp0(before->module_state, "loaded") == 0 &&
                (g_strcmp0(next_load, "enabled") == 0 || g_strcmp0(next_load, "disabled") == 0) &&
                (g_strcmp0(before->nested, "enabled") == 0 || g_strcmp0(before->nested, "disabled") == 0) &&
                !g_str_equal(before->nested, next_load))
                printf("It is %s now; 'nestvirtctl enforce' reloads %s to match.\n", before->nested, module);
}

NvExitCode nv_verb_reset(NvCtl *ctl, int argc, char **argv)
{
        g_auto(NvResetReply) reply = {};
        g_autoptr(NvStatusInfo) before = NULL;
        g_autoptr(GError) error = NULL;
        NvExitCode r = NV_EXIT_SUCCESS;

        if (!nv_client_get_status(ctl, &before, &error))
                return nv_bus_report_error(error, "query nestvirtd");

        if (!nv_client_reset_persistent(ctl, 0, &reply, &error))
                return nv_bus_report_change_error(error, "reset the persistent setting");

        if (ctl->json != NV_JSON_OFF)
                r = nv_json_print_reset(&reply, ctl->json);
        else
                print_result(before, reply.next_load, reply.next_load_source);

        (void) nv_warn_if_invalid(before, reply.next_load, reply.next_load_source);
        return r;
}
