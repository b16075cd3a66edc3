/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdio.h>

#include "ctl.h"
#include "exit-codes.h"
#include "nestvirt-client.h"

/* Ends every usage error, so all of them point the same way. */
#define NV_SEE_HELP "See 'nestvirtctl --help'."

/* A verb gets argv[0] = its own name, like a small main(); the dispatcher has already checked the
 * number of arguments against the table. */
typedef NvExitCode (*NvVerbFunc)(NvCtl *ctl, int argc, char **argv);

/* Runs the verb named by argv[0], or the default verb when argc is 0. */
NvExitCode nv_verbs_dispatch(NvCtl *ctl, int argc, char **argv);

/* Lists the verbs for --help, the name column padded to width. */
void nv_verbs_print_help(FILE *f, int width);

/* The verbs, one file each. */
NvExitCode nv_verb_status(NvCtl *ctl, int argc, char **argv);
NvExitCode nv_verb_vms(NvCtl *ctl, int argc, char **argv);
NvExitCode nv_verb_vm(NvCtl *ctl, int argc, char **argv); /* vm show, expose and hide */
NvExitCode nv_verb_check(NvCtl *ctl, int argc, char **argv);
NvExitCode nv_verb_monitor(NvCtl *ctl, int argc, char **argv);
NvExitCode nv_verb_set(NvCtl *ctl, int argc, char **argv); /* enable and disable */
NvExitCode nv_verb_reset(NvCtl *ctl, int argc, char **argv);
NvExitCode nv_verb_enforce(NvCtl *ctl, int argc, char **argv);

/* SetNested as enable and disable make it, shared with "vm expose --enable-host": reads the state
 * before, changes scope (flags adds NV_SET_* bits beyond it), prints the result (as text, or with
 * --json when print_json says so) and the warnings on stderr. A failure is reported; its exit
 * code is returned. */
NvExitCode nv_set_nested_and_report(NvCtl *ctl, gboolean enable, NvScope scope, guint64 flags,
        gboolean print_json, NvSetNestedReply *reply);
