/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>

#include "pager.h"

struct NvPager {
        pid_t pid;
        int saved_stdout; /* the terminal, restored when the pager ends */
        struct sigaction saved_sigint;
};

static const char *pager_command(void)
{
        const char *p = getenv("SYSTEMD_PAGER");

        if (!p)
                p = getenv("PAGER");
        return p;
}

static gboolean is_no_pager(const char *p)
{
        g_autofree char *s = p ? g_strstrip(g_strdup(p)) : NULL;

        return s && (!*s || g_str_equal(s, "cat"));
}

/* In the child, with the pipe on standard input. Does not return. */
static G_GNUC_NORETURN void run_pager(const char *command)
{
        char buf[4096];
        ssize_t n;

        /* The pager handles the keyboard; it must not die of the Ctrl+C meant for it. */
        signal(SIGINT, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        if (!getenv("LESS"))
                setenv("LESS", "FRSXMK", 1);
        if (!getenv("LESSCHARSET") && g_get_charset(NULL))
                setenv("LESSCHARSET", "utf-8", 1);

        if (command)
                execl("/bin/sh", "sh", "-c", command, (char *) NULL);
        else {
                execlp("less", "less", (char *) NULL);
                execlp("more", "more", (char *) NULL);
        }

        /* No pager could start: copy the output through unchanged. */
        while ((n = read(STDIN_FILENO, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
                if (n > 0 && write(STDOUT_FILENO, buf, (size_t) n) != n)
                        break;
        _exit(EXIT_SUCCESS);
}

void nv_pager_open(NvCtl *ctl)
{
        const char *command = pager_command();
        NvPager *pager;
        int fds[2];
        pid_t pid;

        if (ctl->pager || ctl->no_pager || ctl->json != NV_JSON_OFF || !isatty(STDOUT_FILENO) ||
                is_no_pager(command))
                return;

        if (!g_unix_open_pipe(fds, FD_CLOEXEC, NULL))
                return;

        fflush(stdout);
        pid = fork();
        if (pid < 0) {
                close(fds[0]);
                close(fds[1]);
                return;
        }
        if (pid == 0) {
                if (dup2(fds[0], STDIN_FILENO) < 0)
                        _exit(EXIT_FAILURE);
                close(fds[1]);
                run_pager(command && *command ? command : NULL);
        }

        pager = g_new0(NvPager, 1);
        pager->pid = pid;
        pager->saved_stdout = dup(STDOUT_FILENO);
        if (dup2(fds[1], STDOUT_FILENO) < 0) {
                /* Without the pipe in place, print directly; the pager sees EOF and quits. */
                close(fds[0]);
                close(fds[1]);
                if (pager->saved_stdout >= 0)
                        close(pager->saved_stdout);
                (void) waitpid(pid, NULL, 0);
                g_free(pager);
                return;
        }
        close(fds[0]);
        close(fds[1]);

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
        /* Closing our end of the pipe is the pager's end of input. */
        if (pager->saved_stdout >= 0) {
                (void) dup2(pager->saved_stdout, STDOUT_FILENO);
                close(pager->saved_stdout);
        } else
                close(STDOUT_FILENO);

        while (waitpid(pager->pid, NULL, 0) < 0 && errno == EINTR)
                ;
        sigaction(SIGINT, &pager->saved_sigint, NULL);
        g_free(pager);
}
