/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Runs "pkttyagent --notify-fd N --process PID" around a call that may need a password, much as
 * systemctl does. --process registers the agent for this process, so polkit finds it for our bus
 * name. There is deliberately no --fallback (systemctl passes it): polkit uses a fallback agent
 * only when the caller is in a logind session (polkitbackendinteractiveauthority.c,
 * get_authentication_agent_for_subject()), so with it nobody outside a session (su without
 * pam_systemd, containers, CI) is ever asked and polkit just says no. Without it the terminal
 * where the command runs asks, even when the session also has a graphical agent.
 * pkttyagent closes the notify fd once it has registered; the call must not be sent before that,
 * or polkit would find no agent. */

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>

#include "polkit-agent.h"

#define AGENT_BINARY    "pkttyagent"
#define AGENT_NOTIFY_FD 3
/* Registering is one round trip to polkitd; a hung polkitd must not hang us for good. */
#define AGENT_REGISTER_TIMEOUT_MS (30 * 1000)

struct NvPolkitAgent {
        GSubprocess *process;
};

/* Waits until the agent writes to or closes its end of the pipe, or exits. */
static void wait_for_registration(int fd)
{
        struct pollfd p = { .fd = fd, .events = POLLIN };
        gint64 deadline = g_get_monotonic_time() + AGENT_REGISTER_TIMEOUT_MS * G_GINT64_CONSTANT(1000);

        for (;;) {
                gint64 left_ms = (deadline - g_get_monotonic_time()) / 1000;
                int r;

                if (left_ms <= 0) {
                        g_debug("%s did not register in time; going on without waiting.", AGENT_BINARY);
                        return;
                }
                r = poll(&p, 1, (int) left_ms);
                if (r < 0 && errno == EINTR)
                        continue;
                /* Readable, hung up, or poll failed: in each case there is nothing more to wait for. */
                return;
        }
}

NvPolkitAgent *nv_polkit_agent_open(void)
{
        g_autoptr(GSubprocessLauncher) launcher = NULL;
        g_autoptr(GSubprocess) process = NULL;
        g_autoptr(GError) error = NULL;
        g_autofree char *notify_fd = NULL, *pid = NULL;
        NvPolkitAgent *agent;
        int fds[2];

        /* Root is authorized without asking; and without a terminal on stdin nobody can type. */
        if (geteuid() == 0 || !isatty(STDIN_FILENO))
                return NULL;

        if (!g_unix_open_pipe(fds, FD_CLOEXEC, &error)) {
                g_debug("Cannot create a pipe for %s: %s", AGENT_BINARY, error->message);
                return NULL;
        }

        notify_fd = g_strdup_printf("%d", AGENT_NOTIFY_FD);
        pid = g_strdup_printf("%d", (int) getpid());

        /* The agent reads the password from the terminal, so it needs our stdin. */
        launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_INHERIT);
        g_subprocess_launcher_take_fd(launcher, fds[1], AGENT_NOTIFY_FD);
        process = g_subprocess_launcher_spawn(
                launcher, &error, AGENT_BINARY, "--notify-fd", notify_fd, "--process", pid, NULL);
        /* Freeing the launcher closes our copy of the write end: only the agent holds it now, so
         * its close is what we see. */
        g_clear_object(&launcher);

        if (!process) {
                /* Without pkttyagent the call still works for whoever polkit allows outright. */
                if (!g_error_matches(error, G_SPAWN_ERROR, G_SPAWN_ERROR_NOENT))
                        g_debug("Cannot start %s: %s", AGENT_BINARY, error->message);
                close(fds[0]);
                return NULL;
        }

        wait_for_registration(fds[0]);
        close(fds[0]);

        agent = g_new0(NvPolkitAgent, 1);
        agent->process = g_steal_pointer(&process);
        return agent;
}

void nv_polkit_agent_close(NvPolkitAgent *agent)
{
        if (!agent)
                return;

        /* pkttyagent restores the terminal on SIGTERM, even in the middle of a prompt. */
        g_subprocess_send_signal(agent->process, SIGTERM);
        (void) g_subprocess_wait(agent->process, NULL, NULL);
        g_object_unref(agent->process);
        g_free(agent);
}
