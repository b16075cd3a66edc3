/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* "nestvirtctl enforce": Enforce reloads the module when its live value differs from what the
 * persistent setting gives the next load. nestvirt-enforce.service runs it at boot, before the VM
 * managers start, so it fails softly where the boot must go on: VMs that already hold the module
 * are left alone and the verb still succeeds. */

#include <stdio.h>

#include "nestvirt-bus.h"

#include "bus.h"
#include "json-output.h"
#include "nested-text.h"
#include "nestvirt-client.h"
#include "status-info.h"
#include "verbs.h"

static gboolean is_known(const char *value)
{
        return g_strcmp0(value, "enabled") == 0 || g_strcmp0(value, "disabled") == 0;
}

/* The daemon does nothing unless the module is loaded and the next load's value is known; say
 * which of those it was, since "already matches" would not be true then. */
static void print_unchanged(const NvStatusInfo *before, const char *nested)
{
        const char *module = nv_module_name(before);
        const char *state = before->module_state;

        if (g_strcmp0(state, "not-loaded") == 0)
                printf("%s is not loaded; its next load uses the persistent setting (nested %s).\n", module,
                        before->nested_next_load ? before->nested_next_load : "unknown");
        else if (g_strcmp0(state, "builtin") == 0)
                printf("%s is built into the kernel: only the kernel command line and a reboot change it "
                       "(nested %s now).\n",
                        module, nested);
        else if (g_strcmp0(state, "unavailable") == 0)
                printf("Nothing to enforce: %s is not available on this kernel.\n", module);
        else if (!is_known(before->nested_next_load))
                printf("Nothing to enforce: the persistent setting is %s (nested %s now).\n",
                        before->nested_next_load ? before->nested_next_load : "unknown", nested);
        else
                printf("Nested virtualization already matches the persistent setting (%s).\n", nested);
}

NvExitCode nv_verb_enforce(NvCtl *ctl, int argc, char **argv)
{
        g_auto(NvEnforceReply) reply = {};
        g_autoptr(NvStatusInfo) before = NULL;
        g_autoptr(GError) error = NULL;
        NvExitCode r = NV_EXIT_SUCCESS;

        if (!nv_client_get_status(ctl, &before, &error))
                return nv_bus_report_error(error, "query nestvirtd");

        if (!nv_client_enforce(ctl, 0, &reply, &error)) {
                if (nv_bus_error_is(error, NV_ERROR_VMS_RUNNING)) {
                        /* The boot goes on; the VMs keep the value they started with. The message
                         * names the processes that hold the module. */
                        g_dbus_error_strip_remote_error(error);
                        g_printerr("%s\n", error->message);
                        g_printerr("nestvirt-enforce: not enforcing while VMs run.\n");
                        /* A script that asked for JSON still gets the state: nothing changed. */
                        if (ctl->json != NV_JSON_OFF)
                                return nv_json_print_enforce(
                                        before->nested ? before->nested : "unknown", FALSE, ctl->json);
                        return NV_EXIT_SUCCESS;
                }
                return nv_bus_report_change_error(error, "enforce the persistent setting");
        }

        if (ctl->json != NV_JSON_OFF)
                r = nv_json_print_enforce(reply.nested, reply.changed, ctl->json);
        else if (reply.changed)
                printf("Reloaded %s with nested %s to match the persistent setting.\n",
                        nv_module_name(before), reply.nested);
        else
                print_unchanged(before, reply.nested);

        (void) nv_warn_if_invalid(before, before->nested_next_load, before->nested_next_load_source);
        return r;
}
