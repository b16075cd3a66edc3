/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>

#include "pve-api.h"
#include "util.h"

extern char **environ;

void nv_pve_run_done(NvPveRun *r)
{
        if (!r)
                return;
        free(r->out);
        free(r->err);
        *r = (NvPveRun){};
}

const char *nv_pvesh_path(void)
{
        const char *e = secure_getenv("NESTVIRT_PVESH");
        return isempty(e) ? NV_PVESH_DEFAULT : e;
}

typedef struct Capture {
        int fd;
        char *buf;
        size_t size, allocated;
} Capture;

/* Reads what is there; 1 at EOF, 0 for more to come, -E2BIG past the limit, -errno. */
static int capture_read(Capture *c)
{
        char tmp[4096];
        ssize_t n;

        n = read(c->fd, tmp, sizeof(tmp));
        if (n < 0)
                return errno == EINTR || errno == EAGAIN ? 0 : -errno;
        if (n == 0)
                return 1;
        if (c->size + (size_t) n > NV_PVE_OUTPUT_LIMIT)
                return -E2BIG;
        if (c->size + (size_t) n + 1 > c->allocated) {
                size_t a = (c->size + (size_t) n + 1) * 2;
                char *m = realloc(c->buf, a);
                if (!m)
                        return -ENOMEM;
                c->buf = m;
                c->allocated = a;
        }
        memcpy(c->buf + c->size, tmp, (size_t) n);
        c->size += (size_t) n;
        c->buf[c->size] = 0;
        return 0;
}

static int spawn(char *const argv[], int out_fd, int err_fd, pid_t *ret)
{
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, all;
        int r;

        (void) sigemptyset(&none);
        (void) sigfillset(&all);

        r = posix_spawn_file_actions_init(&fa);
        if (r != 0)
                return -r;
        r = posix_spawnattr_init(&attr);
        if (r != 0) {
                posix_spawn_file_actions_destroy(&fa);
                return -r;
        }

        /* A clean child: no fds of ours, default signal handling, a process group of its own
         * so that the time bound ends whatever it started too. */
        if ((r = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0)) == 0 &&
                (r = posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO)) == 0 &&
                (r = posix_spawn_file_actions_adddup2(&fa, err_fd, STDERR_FILENO)) == 0 &&
                (r = posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1)) == 0 &&
                (r = posix_spawnattr_setsigmask(&attr, &none)) == 0 &&
                (r = posix_spawnattr_setsigdefault(&attr, &all)) == 0 &&
                (r = posix_spawnattr_setpgroup(&attr, 0)) == 0 &&
                (r = posix_spawnattr_setflags(&attr,
                         POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP)) == 0)
                r = posix_spawn(ret, argv[0], &fa, &attr, argv, environ);

        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        return -r;
}

static void kill_child(pid_t pid)
{
        (void) kill(-pid, SIGKILL);
        (void) kill(pid, SIGKILL);
}

/* Collects both streams until EOF, the limit or the deadline. */
static int collect(Capture c[2], long long deadline, NvPveRun *run)
{
        for (;;) {
                struct pollfd p[2];
                nfds_t n = 0;
                long long left;
                int r;

                for (int i = 0; i < 2; i++)
                        if (c[i].fd >= 0)
                                p[n++] = (struct pollfd){ .fd = c[i].fd, .events = POLLIN };
                if (n == 0)
                        return 0;
                left = deadline - nv_now_ms();
                if (left <= 0) {
                        run->timed_out = true;
                        return 0;
                }
                r = poll(p, n, (int) (left > 1000 ? 1000 : left));
                if (r < 0 && errno != EINTR)
                        return -errno;
                for (nfds_t k = 0; r > 0 && k < n; k++) {
                        Capture *cap = c[0].fd == p[k].fd ? &c[0] : &c[1];
                        if (!p[k].revents)
                                continue;
                        r = capture_read(cap);
                        if (r == -E2BIG) {
                                run->overflow = true;
                                return 0;
                        }
                        if (r < 0)
                                return r;
                        if (r > 0) {
                                close(cap->fd);
                                cap->fd = -1;
                        }
                        r = 1;
                }
        }
}

/* Waits for the child, killing it at the deadline (or at once when kill_now). */
static void reap(pid_t pid, long long deadline, bool kill_now, NvPveRun *run)
{
        int status;

        for (;;) {
                pid_t k;

                if (kill_now) {
                        kill_child(pid);
                        kill_now = false;
                }
                k = waitpid(pid, &status, WNOHANG);
                if (k == pid)
                        break;
                if (k < 0 && errno != EINTR)
                        return;
                if (nv_now_ms() >= deadline) {
                        run->timed_out = true;
                        kill_now = true;
                        continue;
                }
                (void) nanosleep(&(struct timespec){ .tv_nsec = 5 * 1000 * 1000 }, NULL);
        }
        if (WIFEXITED(status) && !run->timed_out && !run->overflow) {
                run->exited = true;
                run->status = WEXITSTATUS(status);
        }
}

int nv_pve_run(char *const argv[], unsigned timeout_ms, NvPveRun *ret)
{
        _cleanup_(nv_pve_run_done) NvPveRun run = {};
        int out[2] = { -1, -1 }, err[2] = { -1, -1 };
        Capture c[2] = { { .fd = -1 }, { .fd = -1 } };
        long long deadline = nv_now_ms() + timeout_ms;
        pid_t pid;
        int r;

        assert(argv && argv[0]);
        assert(ret);

        if (pipe2(out, O_CLOEXEC) < 0)
                return -errno;
        if (pipe2(err, O_CLOEXEC) < 0) {
                r = -errno;
                close(out[0]);
                close(out[1]);
                return r;
        }

        r = spawn(argv, out[1], err[1], &pid);
        close(out[1]);
        close(err[1]);
        c[0].fd = out[0];
        c[1].fd = err[0];
        if (r < 0) {
                close(out[0]);
                close(err[0]);
                return r;
        }

        r = collect(c, deadline, &run);
        for (int i = 0; i < 2; i++)
                if (c[i].fd >= 0)
                        close(c[i].fd);
        reap(pid, deadline, r < 0 || run.timed_out || run.overflow, &run);

        run.out = c[0].buf;
        run.out_size = c[0].size;
        run.err = c[1].buf;
        run.err_size = c[1].size;
        if (r < 0)
                return r;
        *ret = run;
        run = (NvPveRun){};
        return 0;
}

/* The last line of pvesh's stderr that says something, for a sentence of ours. */
static char *error_text(const NvPveRun *run)
{
        _cleanup_free_ char *s = strdup(strempty(run->err));
        char *p;

        if (!s)
                return NULL;
        strstrip_end(s);
        p = s + strspn(s, " \t\n");
        /* Join the lines: "400 Parameter verification failed.\ncpu: ..." reads as one. */
        for (char *q = p; *q; q++)
                if (*q == '\n' || *q == '\r' || *q == '\t')
                        *q = ' ';
        return strdup(p);
}

/*
 * pvesh writes through pmxcfs, whose IPC is an abstract socket in the host's network namespace,
 * and takes PVE's locks in /var/lock/qemu-server: nestvirtd's own sandbox (PrivateNetwork=,
 * ProtectSystem=strict) allows neither, and widening it for every call would weaken it for all
 * the rest. Where systemd manages the system, pvesh runs as a transient service of its own
 * instead, with systemd-run: its output comes back through the pipes, its exit status through
 * --wait, and systemd stops it at the same time bound. Elsewhere (tests, containers without
 * systemd) it runs as a child.
 */
#define STR(x)  #x
#define XSTR(x) STR(x)
static const char *const systemd_run_argv[] = {
        "/usr/bin/systemd-run",
        "--quiet",
        "--pipe",
        "--wait",
        "--collect",
        "--service-type=exec",
        "--description=pvesh for nestvirtd",
        ("--property=RuntimeMaxSec=" XSTR(NV_PVESH_TIMEOUT_S)), /* one element */
        "--property=NoNewPrivileges=yes",
        "--property=ProtectHome=yes",
        "--property=PrivateTmp=yes",
        "--property=RestrictAddressFamilies=AF_UNIX",
        "--",
};

static bool use_systemd_run(void)
{
        return access("/run/systemd/system", F_OK) >= 0 && access(systemd_run_argv[0], X_OK) >= 0;
}

int nv_pvesh_call(const char *const *args, char **ret_out, char **ret_error)
{
        _cleanup_(nv_pve_run_done) NvPveRun run = {};
        _cleanup_free_ char **argv = NULL, *text = NULL;
        const char *program = nv_pvesh_path();
        size_t n = 0, k = 0;
        int r;

        assert(args);
        assert(ret_out);
        assert(ret_error);
        *ret_out = *ret_error = NULL;

        while (args[n])
                n++;
        argv = calloc(ELEMENTSOF(systemd_run_argv) + n + 2, sizeof(char *));
        if (!argv)
                return -ENOMEM;
        if (use_systemd_run())
                for (size_t i = 0; i < ELEMENTSOF(systemd_run_argv); i++)
                        argv[k++] = (char *) systemd_run_argv[i];
        argv[k++] = (char *) program;
        for (size_t i = 0; i < n; i++)
                argv[k++] = (char *) args[i];

        /* Said up front: where posix_spawn() cannot report exec's error, 127 would be all. */
        if (access(program, X_OK) < 0)
                return asprintf(ret_error, "Could not run %s: %s", program, strerror(errno)) < 0 ? -ENOMEM
                                                                                                 : -EIO;

        r = nv_pve_run(argv, NV_PVESH_TIMEOUT_S * 1000u, &run);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return asprintf(ret_error, "Could not run %s: %s", program, strerror(-r)) < 0 ? -ENOMEM
                                                                                              : -EIO;
        if (run.timed_out)
                return asprintf(ret_error, "pvesh did not answer within %d s", NV_PVESH_TIMEOUT_S) < 0
                        ? -ENOMEM
                        : -EIO;
        if (run.overflow)
                return asprintf(ret_error, "pvesh wrote more than %u bytes", NV_PVE_OUTPUT_LIMIT) < 0
                        ? -ENOMEM
                        : -EIO;
        if (!run.exited || run.status != 0) {
                text = error_text(&run);
                if (!text)
                        return -ENOMEM;
                if (!run.exited)
                        r = asprintf(ret_error, "pvesh was killed by a signal%s%s", *text ? ": " : "", text);
                else if (*text)
                        r = asprintf(ret_error, "%s", text);
                else
                        r = asprintf(ret_error, "pvesh failed with exit status %d", run.status);
                return r < 0 ? -ENOMEM : -EIO;
        }

        *ret_out = TAKE_PTR(run.out);
        if (!*ret_out) {
                *ret_out = strdup("");
                if (!*ret_out)
                        return -ENOMEM;
        }
        return 0;
}

NvExposeStatus nv_pvesh_failure_status(const char *error)
{
        if (!error)
                return NV_EXPOSE_MANAGER_FAILED;
        /* AbstractConfig.pm load_config: "Configuration file '...' does not exist". */
        if (strstr(error, "Configuration file") && strstr(error, "does not exist"))
                return NV_EXPOSE_NO_SUCH_VM;
        /* check_lock: "VM is locked (backup)". */
        if (strstr(error, "is locked ("))
                return NV_EXPOSE_LOCKED;
        return NV_EXPOSE_MANAGER_FAILED;
}
