/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <glib.h>

#include "verbs.h"

#define NV_VERB_ANY (-1)

typedef enum {
        NV_VERB_DEFAULT = 1 << 0, /* run when no verb is given */
        NV_VERB_SCOPE = 1 << 1, /* takes --runtime and --persistent */
        NV_VERB_IGNORE_REQUIRING = 1 << 2, /* takes --ignore-requiring-vms */
        NV_VERB_EXPOSE = 1 << 3, /* takes --host-model and --enable-host */
} NvVerbFlags;

typedef struct {
        const char *name;
        const char *args; /* shown after the name in --help; NULL when the verb takes none */
        int min_args; /* not counting the verb itself */
        int max_args; /* NV_VERB_ANY for no limit */
        NvVerbFlags flags;
        NvVerbFunc run;
        const char *summary;
} NvVerb;

/* Adding a verb is one line here, one declaration in verbs.h and one file. */
static const NvVerb verbs[] = {
        { "status", NULL, 0, 0, NV_VERB_DEFAULT, nv_verb_status, "Show the state of nested virtualization" },
        { "vms", NULL, 0, 0, 0, nv_verb_vms, "List the VMs and whether their guests see vmx/svm" },
        { "vm", "show|expose|hide VM", 2, 2, NV_VERB_EXPOSE, nv_verb_vm,
                "Show a VM; expose or hide vmx/svm from its next start" },
        { "check", NULL, 0, 0, 0, nv_verb_check, "Tell what to know about nesting on this host" },
        { "monitor", NULL, 0, 0, 0, nv_verb_monitor, "Print changes as they happen, until Ctrl+C" },
        { "enable", NULL, 0, 0, NV_VERB_SCOPE, nv_verb_set,
                "Turn nested virtualization on (now and at next boot)" },
        { "disable", NULL, 0, 0, NV_VERB_SCOPE | NV_VERB_IGNORE_REQUIRING, nv_verb_set,
                "Turn nested virtualization off (now and at next boot)" },
        { "reset", NULL, 0, 0, 0, nv_verb_reset, "Remove nestvirt's setting for the next boot" },
        { "enforce", NULL, 0, 0, 0, nv_verb_enforce, "Make the live value match the persistent setting" },
};

static const NvVerb *find_verb(const char *name)
{
        for (size_t i = 0; i < G_N_ELEMENTS(verbs); i++) {
                if (name ? g_str_equal(verbs[i].name, name) : (verbs[i].flags & NV_VERB_DEFAULT) != 0)
                        return &verbs[i];
        }
        return NULL;
}

/* Checks that hold for every verb, whether named or the default. */
static NvExitCode check_options(const NvCtl *ctl, const NvVerb *verb)
{
        if (ctl->scope && !(verb->flags & NV_VERB_SCOPE)) {
                g_printerr("--runtime and --persistent apply only to enable and disable. " NV_SEE_HELP "\n");
                return NV_EXIT_USAGE;
        }
        if (ctl->ignore_requiring_vms && !(verb->flags & NV_VERB_IGNORE_REQUIRING)) {
                g_printerr("--ignore-requiring-vms applies only to disable. " NV_SEE_HELP "\n");
                return NV_EXIT_USAGE;
        }
        if ((ctl->host_model || ctl->enable_host) && !(verb->flags & NV_VERB_EXPOSE)) {
                g_printerr("--host-model and --enable-host apply only to vm expose. " NV_SEE_HELP "\n");
                return NV_EXIT_USAGE;
        }
        return NV_EXIT_SUCCESS;
}

NvExitCode nv_verbs_dispatch(NvCtl *ctl, int argc, char **argv)
{
        const NvVerb *verb;
        NvExitCode r;
        int n_args;

        if (argc <= 0) {
                char *fake_argv[2] = { NULL, NULL };

                verb = find_verb(NULL);
                g_assert(verb);
                r = check_options(ctl, verb);
                if (r != NV_EXIT_SUCCESS)
                        return r;
                fake_argv[0] = (char *) verb->name;
                return verb->run(ctl, 1, fake_argv);
        }

        verb = find_verb(argv[0]);
        if (!verb) {
                g_printerr("Unknown verb '%s'. " NV_SEE_HELP "\n", argv[0]);
                return NV_EXIT_USAGE;
        }

        n_args = argc - 1;
        if (n_args < verb->min_args) {
                g_printerr("Too few arguments for verb '%s'. " NV_SEE_HELP "\n", verb->name);
                return NV_EXIT_USAGE;
        }
        if (verb->max_args != NV_VERB_ANY && n_args > verb->max_args) {
                g_printerr("Too many arguments for verb '%s'. " NV_SEE_HELP "\n", verb->name);
                return NV_EXIT_USAGE;
        }

        r = check_options(ctl, verb);
        if (r != NV_EXIT_SUCCESS)
                return r;

        return verb->run(ctl, argc, argv);
}

void nv_verbs_print_help(FILE *f, int width)
{
        for (size_t i = 0; i < G_N_ELEMENTS(verbs); i++) {
                const NvVerb *v = &verbs[i];
                g_autofree char *usage = g_strjoin(" ", v->name, v->args, NULL);

                fprintf(f, "  %-*s %s%s\n", width, usage, v->summary,
                        (v->flags & NV_VERB_DEFAULT) ? " (default)" : "");
        }
}
