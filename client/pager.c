/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The pager is spawned through GSubprocess, not fork() and exec by hand: by the time a verb
 * prints, GDBus runs a worker thread, and a forked child of a threaded process may only call
 * async-signal-safe functions (no setenv(), no execlp()'s path search) before exec.
 */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <gio/gunixoutputstream.h>

#include "pager.h"

struct NvPager {
        GSubprocess *process;
        int saved_stdout; /* the terminal, put back when the pager ends */
        struct sigaction saved_sigint;
};

static gboolean is_no_pager(const char *command)
{
        g_autofree char *s = g_strstrip(g_strdup(command));

        return !*s || g_str_equal(s, "cat");
}

/* The pager's command line, or NULL when there is none to run. */
static char **pager_argv(void)
{
        const char *command = getenv("SYSTEMD_PAGER");
        char **argv;
        char *path;

        if (!command)
                command = getenv("PAGER");
        if (command) {
                if (is_no_pager(command))
                        return NULL;
                return g_strdupv((char *[]){ (char *) "/bin/sh", (char *) "-c", (char *) command, NULL });
        }

        path = g_find_program_in_path("less");
        if (!path)
                path = g_find_program_in_path("more");
        if (!path)
                return NULL;
        argv = g_new0(char *, 2);
        argv[0] = path;
        return argv;
}

void nv_pager_open(NvCtl *ctl)
{
        g_autoptr(GSubprocessLauncher) launcher = NULL;
        g_autoptr(GSubprocess) process = NULL;
        g_auto(GStrv) argv = NULL;
        NvPager *pager;
        int pipe_fd, saved;

        if (ctl->pager || ctl->no_pager || ctl->json != NV_JSON_OFF || !isatty(STDOUT_FILENO))
                return;

        argv = pager_argv();
        if (!argv)
                return; /* no pager: print directly */

        /* stdout and stderr stay the terminal's, stdin is our output. */
        launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_PIPE);
        /* F: quit when it fits on a screen, R: colors, S: no wrapping, X: leave the text on the
         * screen, M: a verbose prompt, K: quit on Ctrl+C. */
        if (!getenv("LESS"))
                g_subprocess_launcher_setenv(launcher, "LESS", "FRSXMK", TRUE);
        if (!getenv("LESSCHARSET") && g_get_charset(NULL))
                g_subprocess_launcher_setenv(launcher, "LESSCHARSET", "utf-8", TRUE);
        process = g_subprocess_launcher_spawnv(launcher, (const char *const *) argv, NULL);
        if (!process)
                return;

        fflush(stdout);
        pipe_fd = g_unix_output_stream_get_fd(G_UNIX_OUTPUT_STREAM(g_subprocess_get_stdin_pipe(process)));
        saved = dup(STDOUT_FILENO);
        if (saved < 0 || dup2(pipe_fd, STDOUT_FILENO) < 0) {
                /* Print directly; the pager sees its input end and quits. */
                if (saved >= 0)
                        close(saved);
                (void) g_output_stream_close(g_subprocess_get_stdin_pipe(process), NULL, NULL);
                (void) g_subprocess_wait(process, NULL, NULL);
                return;
        }

        pager = g_new0(NvPager, 1);
        pager->process = g_steal_pointer(&process);
        pager->saved_stdout = saved;
        /* Ctrl+C in the pager reaches us too (one process group). Dying of it would hand the
         * terminal back to the shell while the pager still runs; the pager decides instead. */
        sigaction(SIGINT, &(struct sigaction){ .sa_handler = SIG_IGN }, &pager->saved_sigint);
        ctl->pager = pager;
}

void nv_pager_close(NvCtl *ctl)
{
        NvPager *pager = ctl->pager;

        if (!pager)
                return;
        ctl->pager = NULL;

        fflush(stdout);
        /* Putting the terminal back closes one end of the pipe, closing the stream the other:
         * the pager then has all its input. */
        (void) dup2(pager->saved_stdout, STDOUT_FILENO);
        close(pager->saved_stdout);
        (void) g_output_stream_close(g_subprocess_get_stdin_pipe(pager->process), NULL, NULL);
        (void) g_subprocess_wait(pager->process, NULL, NULL);

        sigaction(SIGINT, &pager->saved_sigint, NULL);
        g_object_unref(pager->process);
        g_free(pager);
}
