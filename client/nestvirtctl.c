/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* nestvirtctl: the command line client of nestvirtd. This file only parses the options; the verbs
 * live in verb-*.c and are dispatched through the table in verbs.c. */

#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "bus.h"
#include "ctl.h"
#include "exit-codes.h"
#include "pager.h"
#include "remote.h"
#include "text.h"
#include "verbs.h"

/* Width of the first column of --help, shared by verbs and options so both line up. */
#define HELP_COLUMN 24

/* getopt_long rather than GOptionContext: it lets --help list the verbs in the systemd style and
 * lets us word the usage errors ourselves. */
enum {
        ARG_VERSION = 0x100,
        ARG_JSON,
        ARG_NO_PAGER,
        ARG_RUNTIME,
        ARG_PERSISTENT,
        ARG_NO_ASK_PASSWORD,
        ARG_HOST_MODEL,
        ARG_ENABLE_HOST,
        ARG_IGNORE_REQUIRING_VMS,
};

static const struct option options[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, ARG_VERSION },
        { "json", optional_argument, NULL, ARG_JSON },
        { "no-pager", no_argument, NULL, ARG_NO_PAGER },
        { "runtime", no_argument, NULL, ARG_RUNTIME },
        { "persistent", no_argument, NULL, ARG_PERSISTENT },
        { "no-ask-password", no_argument, NULL, ARG_NO_ASK_PASSWORD },
        { "host-model", no_argument, NULL, ARG_HOST_MODEL },
        { "enable-host", no_argument, NULL, ARG_ENABLE_HOST },
        { "ignore-requiring-vms", no_argument, NULL, ARG_IGNORE_REQUIRING_VMS },
        { "host", required_argument, NULL, 'H' },
        {},
};

static const struct {
        const char *name;
        const char *summary;
} option_help[] = {
        { "-h --help", "Show this help" },
        { "   --version", "Show package version" },
        { "   --json[=pretty|short]", "Print JSON (default: pretty on a terminal, else short)" },
        { "   --no-pager", "Do not pipe output into a pager" },
        { "   --runtime", "Change only the live value (enable, disable)" },
        { "   --persistent", "Change only the next boot's value (enable, disable)" },
        { "   --no-ask-password", "Do not let polkit ask for a password" },
        { "   --host-model", "Expose through the host CPU model, not a flag (vm expose)" },
        { "   --enable-host", "Turn host nesting on too (vm expose)" },
        { "   --ignore-requiring-vms", "Disable even though VMs require nesting (disable)" },
        { "-H --host=[USER@]HOST", "Operate on a remote host (over ssh)" },
};

static const struct {
        NvExitCode code;
        const char *meaning;
} exit_help[] = {
        { NV_EXIT_SUCCESS, "success" },
        { NV_EXIT_FAILURE, "failure" },
        { NV_EXIT_USAGE, "usage error" },
        { NV_EXIT_NOT_AUTHORIZED, "not authorized" },
        { NV_EXIT_VMS_RUNNING, "VMs hold the KVM module" },
        { NV_EXIT_NOT_SUPPORTED, "not supported on this host or by the VM's manager" },
        { NV_EXIT_LOCKED, "the VM is locked by its manager" },
        { NV_EXIT_NO_SUCH_VM, "no such VM" },
        { NV_EXIT_VM_AMBIGUOUS, "the name matches several VMs" },
        { NV_EXIT_MANAGER_FAILED, "the VM's manager refused or failed" },
        { NV_EXIT_VMS_REQUIRE_NESTING, "VMs require nesting at their next start" },
};

static void help(void)
{
        printf("nestvirtctl [OPTIONS...] [VERB]\n\n"
               "Show and change KVM nested virtualization on this host through nestvirtd.\n\n"
               "Verbs:\n");
        nv_verbs_print_help(stdout, HELP_COLUMN);

        printf("\nOptions:\n");
        for (size_t i = 0; i < G_N_ELEMENTS(option_help); i++) {
                /* A name wider than the column gets the summary on the next line. */
                if (strlen(option_help[i].name) > HELP_COLUMN)
                        printf("  %s\n  %-*s %s\n", option_help[i].name, HELP_COLUMN, "",
                                option_help[i].summary);
                else
                        printf("  %-*s %s\n", HELP_COLUMN, option_help[i].name, option_help[i].summary);
        }

        printf("\nExit status:\n");
        for (size_t i = 0; i < G_N_ELEMENTS(exit_help); i++)
                printf("  %-2d  %s\n", (int) exit_help[i].code, exit_help[i].meaning);

        printf("\nSee the nestvirtctl(1) man page for details.\n");
}

/* Like systemd: NO_COLOR (https://no-color.org) wins, then only a terminal that is not dumb. */
static gboolean use_color(void)
{
        const char *term = getenv("TERM");

        if (getenv("NO_COLOR"))
                return FALSE;
        if (g_strcmp0(term, "dumb") == 0)
                return FALSE;
        return isatty(STDOUT_FILENO);
}

static int parse_json_mode(NvCtl *ctl, const char *arg)
{
        if (!arg)
                ctl->json = isatty(STDOUT_FILENO) ? NV_JSON_PRETTY : NV_JSON_SHORT;
        else if (g_str_equal(arg, "pretty"))
                ctl->json = NV_JSON_PRETTY;
        else if (g_str_equal(arg, "short"))
                ctl->json = NV_JSON_SHORT;
        else if (g_str_equal(arg, "help")) {
                printf("pretty\nshort\n");
                return NV_EXIT_SUCCESS;
        } else {
                g_printerr("Unknown JSON mode '%s'. Use 'pretty' or 'short'.\n", arg);
                return NV_EXIT_USAGE;
        }
        return -1;
}

/* Returns -1 to go on with the verb, or the exit code to end with right away. */
static int parse_argv(NvCtl *ctl, int argc, char **argv)
{
        int c, r;

        /* We print our own usage errors, and ':' makes a missing argument distinguishable. */
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":hH:", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return NV_EXIT_SUCCESS;
                case ARG_VERSION:
                        printf("nestvirtctl " PACKAGE_VERSION "\n");
                        return NV_EXIT_SUCCESS;
                case ARG_JSON:
                        r = parse_json_mode(ctl, optarg);
                        if (r >= 0)
                                return r;
                        break;
                case ARG_NO_PAGER:
                        ctl->no_pager = TRUE;
                        break;
                case 'H': {
                        g_autofree char *user = NULL, *host = NULL;

                        if (!nv_remote_parse_host(optarg, &user, &host)) {
                                g_printerr("Invalid host '%s': expected [USER@]HOST. " NV_SEE_HELP "\n",
                                        optarg);
                                return NV_EXIT_USAGE;
                        }
                        g_free(ctl->host);
                        ctl->host = g_strdup(optarg);
                        break;
                }
                case ARG_RUNTIME:
                        ctl->scope |= NV_SCOPE_RUNTIME;
                        break;
                case ARG_PERSISTENT:
                        ctl->scope |= NV_SCOPE_PERSISTENT;
                        break;
                case ARG_NO_ASK_PASSWORD:
                        ctl->ask_password = FALSE;
                        break;
                case ARG_HOST_MODEL:
                        ctl->host_model = TRUE;
                        break;
                case ARG_ENABLE_HOST:
                        ctl->enable_host = TRUE;
                        break;
                case ARG_IGNORE_REQUIRING_VMS:
                        ctl->ignore_requiring_vms = TRUE;
                        break;
                case ':':
                        g_printerr("Option '%s' needs an argument. " NV_SEE_HELP "\n", argv[optind - 1]);
                        return NV_EXIT_USAGE;
                case '?':
                        /* optopt names a short option, or a long one given an argument it does not
                         * take; for an unknown long option only argv knows the spelling. */
                        for (const struct option *o = options; optopt >= 0x100 && o->name; o++)
                                if (o->val == optopt) {
                                        g_printerr("Option '--%s' takes no argument. " NV_SEE_HELP "\n",
                                                o->name);
                                        return NV_EXIT_USAGE;
                                }
                        if (optopt > 0 && optopt < 0x100)
                                g_printerr("Unknown option '-%c'. " NV_SEE_HELP "\n", optopt);
                        else
                                g_printerr("Unknown option '%s'. " NV_SEE_HELP "\n", argv[optind - 1]);
                        return NV_EXIT_USAGE;
                default:
                        g_assert_not_reached();
                }
        }

        return -1;
}

int main(int argc, char *argv[])
{
        NvCtl ctl = { .ask_password = TRUE };
        int r;

        setlocale(LC_ALL, "");
        g_set_prgname("nestvirtctl");
        ctl.color = use_color();
        ctl.columns = nv_terminal_columns();

        r = parse_argv(&ctl, argc, argv);
        if (r < 0)
                r = nv_verbs_dispatch(&ctl, argc - optind, argv + optind);

        /* A full disk or a closed pipe must not pass for success. A pager that was quit before
         * the end is no failure, though (GDBus ignores SIGPIPE, so that shows as EPIPE here). */
        if ((fflush(stdout) != 0 || ferror(stdout)) && !ctl.pager) {
                g_printerr("Failed to write to standard output: %s\n", g_strerror(errno));
                if (r == NV_EXIT_SUCCESS)
                        r = NV_EXIT_FAILURE;
        }

        nv_pager_close(&ctl);
        nv_bus_disconnect(&ctl);
        g_free(ctl.host);
        return r;
}
