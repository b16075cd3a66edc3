/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* "nestvirtctl check": Check's findings, each as "LEVEL id: summary" and an indented hint, like
 * virt-host-validate but about nesting. The verb reports; it does not judge: it exits 0 whatever
 * the findings are, and non-zero only when the call fails, so that "nothing could be checked" and
 * "the host has a problem" stay apart. Scripts that want to judge use --json. */

#include <stdio.h>
#include <string.h>

#include "bus.h"
#include "findings-text.h"
#include "json-output.h"
#include "nestvirt-client.h"
#include "pager.h"
#include "table.h"
#include "text.h"
#include "verbs.h"

#define HINT_INDENT 2
#define HINT_LABEL  "Hint: "

static void print_finding(
        const NvCtl *ctl, const char *id, const char *level, const char *summary, const char *hint)
{
        NvLevelStyle style = nv_level_style(level);
        g_autofree char *upper = g_ascii_strup(style.label, -1);
        g_autofree char *label = nv_text_printable(upper); /* an unknown level is the daemon's word */
        g_autofree char *safe_id = nv_text_printable(id);
        g_autofree char *safe_summary = nv_text_printable(summary);
        g_autofree char *safe_hint = nv_text_printable(hint);
        g_autofree char *prefix = NULL, *hint_prefix = NULL;
        const char *on = ctl->color && style.color ? style.color : "";
        const char *off = *on ? NV_ANSI_NORMAL : "";
        int prefix_width;

        prefix = g_strdup_printf("%s%s%s %s: ", on, label, off, safe_id);
        prefix_width = nv_text_width(label) + 1 + nv_text_width(safe_id) + 2;
        /* Wrapped only on a terminal (ctl->columns is 0 otherwise), so a pipe gets one line a
         * summary, for grep. */
        nv_text_print_wrapped(stdout, prefix, prefix_width, HINT_INDENT, safe_summary, ctl->columns);

        if (*safe_hint) {
                hint_prefix = g_strdup_printf("%*s" HINT_LABEL, HINT_INDENT, "");
                nv_text_print_wrapped(stdout, hint_prefix, HINT_INDENT + (int) strlen(HINT_LABEL),
                        HINT_INDENT + (int) strlen(HINT_LABEL), safe_hint, ctl->columns);
        }
}

NvExitCode nv_verb_check(NvCtl *ctl, int argc, char **argv)
{
        g_auto(NvFindingList) findings = {};
        g_autoptr(GError) error = NULL;

        if (!nv_client_check(ctl, &findings, &error))
                return nv_bus_report_error(error, "check this host");

        if (ctl->json != NV_JSON_OFF)
                return nv_json_print_findings(&findings, ctl->json);

        if (findings.items->len == 0) {
                printf("No findings.\n");
                return NV_EXIT_SUCCESS;
        }

        nv_pager_open(ctl);
        for (guint i = 0; i < findings.items->len; i++) {
                const NvFindingEntry *f = &g_array_index(findings.items, NvFindingEntry, i);

                /* A blank line between findings: each is a paragraph. */
                if (i > 0)
                        putchar('\n');
                print_finding(ctl, f->id, f->level, f->summary, f->hint);
        }
        return NV_EXIT_SUCCESS;
}
