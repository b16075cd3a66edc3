/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sd-bus client of the bench scripts (and of run-toggle.sh's guest). It talks to the bus in
 * $DBUS_SYSTEM_BUS_ADDRESS only and refuses to run without it, so it never reaches the real
 * system bus.
 *
 *   nv-bench-bus getall DEST PATH IFACE N      N GetAll(IFACE) calls, one at a time, after 100
 *                                              untimed ones: "n=N p50_us=.. p99_us=.. mean_us=.."
 *   nv-bench-bus coldstart DEST PATH IFACE     one GetAll(IFACE) while DEST has no owner, so the
 *                                              bus activates it: "ms=.. pid=.."
 *   nv-bench-bus call DEST PATH IFACE MEMBER N N calls of a method without arguments, after 5
 *                                              untimed ones: "n=N p50_us=.. p99_us=.. mean_us=.."
 *   nv-bench-bus managed DEST PATH N           N GetManagedObjects calls, after 5 untimed ones:
 *                                              "n=N p50_us=.. p99_us=.. mean_us=.. objects=.."
 *   nv-bench-bus edit DEST OBJPATH SRC DST SEC with a PropertiesChanged match on DEST's OBJPATH,
 *                                              writes SRC's bytes to DST.nv-bench-tmp and renames
 *                                              it to DST (an editor's save), then waits at most
 *                                              SEC seconds for the signal: "ms=.." from the write
 *                                              to the signal; exit status 1 on timeout
 *   nv-bench-bus pid NAME                      the pid of NAME's owner
 *   nv-bench-bus wait-owner NAME yes|no SEC    until NAME has (yes) or has no (no) owner, at most
 *                                              SEC seconds; exit status 1 on timeout
 *   nv-bench-bus subscribe NAME [METHOD]       a PropertiesChanged match on NAME, and METHOD
 *                                              (e.g. org.nestvirt.NestVirt1.Subscribe) called on
 *                                              NAME's object when given; prints "SUBSCRIBED" and
 *                                              stays connected until stdin reaches end of file
 *   nv-bench-bus toggle MODULE 0|1 SEC         SetNested(VALUE, runtime) on nestvirtd, at most
 *                                              SEC seconds, then until MODULE's nested parameter
 *                                              in sysfs reads VALUE (same bound): "reply_ms=..
 *                                              sysfs_ms=.." both from the call
 *   nv-bench-bus toggle-cmd MODULE 0|1 SEC 'CMD ARGS'...
 *                                              the same for commands run one after the other
 *                                              (split at spaces; the first failure stops), e.g.
 *                                              'modprobe -r kvm_amd' 'modprobe kvm_amd nested=0';
 *                                              reply_ms is when the last one exited
 * The toggles change the live KVM module of the machine they run on: bench/run-toggle.sh runs
 * them inside its QEMU guest only.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#define WARMUP_CALLS 100

static double now_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted t[0..n-1]. */
static double percentile(const double *t, size_t n, double p)
{
        size_t rank = (size_t) (p / 100.0 * (double) n + 0.999999);

        if (rank < 1)
                rank = 1;
        if (rank > n)
                rank = n;
        return t[rank - 1];
}

static sd_bus *open_private_system_bus(void)
{
        sd_bus *bus = NULL;
        int r;

        if (!getenv("DBUS_SYSTEM_BUS_ADDRESS")) {
                fprintf(stderr,
                        "nv-bench-bus: DBUS_SYSTEM_BUS_ADDRESS is not set; refusing to use the system "
                        "bus\n");
                exit(2);
        }
        r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "nv-bench-bus: cannot connect to %s: %s\n",
                        getenv("DBUS_SYSTEM_BUS_ADDRESS"), strerror(-r));
                exit(1);
        }
        return bus;
}

/* One method call: no arguments, or one string (GetAll's interface name). */
typedef struct Call {
        sd_bus *bus;
        const char *dest, *path, *iface, *member, *arg;
} Call;

static int call_once(const Call *c, size_t *ret_objects)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int r;

        if (c->arg)
                r = sd_bus_call_method(
                        c->bus, c->dest, c->path, c->iface, c->member, &error, &reply, "s", c->arg);
        else
                r = sd_bus_call_method(c->bus, c->dest, c->path, c->iface, c->member, &error, &reply, "");
        if (r < 0)
                fprintf(stderr, "nv-bench-bus: %s.%s(%s) on %s: %s\n", c->iface, c->member,
                        c->arg ? c->arg : "", c->dest, error.message ? error.message : strerror(-r));
        if (r >= 0 && ret_objects) {
                /* a{oa{sa{sv}}}: count the objects. */
                *ret_objects = 0;
                r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}");
                while (r >= 0 && (r = sd_bus_message_skip(reply, "{oa{sa{sv}}}")) > 0)
                        (*ret_objects)++;
        }
        sd_bus_message_unref(reply);
        sd_bus_error_free(&error);
        return r;
}

/* n timed calls after warmup untimed ones; objects: count GetManagedObjects' objects. */
static int run_calls(const Call *c, size_t warmup, size_t n, bool objects)
{
        double *t, sum = 0;
        size_t k = 0;

        for (size_t i = 0; i < warmup; i++)
                if (call_once(c, objects ? &k : NULL) < 0)
                        return 1;
        t = calloc(n, sizeof(double));
        if (!t)
                return 1;
        for (size_t i = 0; i < n; i++) {
                double start = now_us();

                if (call_once(c, NULL) < 0) {
                        free(t);
                        return 1;
                }
                t[i] = now_us() - start;
                sum += t[i];
        }
        qsort(t, n, sizeof(double), cmp_double);
        printf("n=%zu p50_us=%.1f p99_us=%.1f mean_us=%.1f", n, percentile(t, n, 50), percentile(t, n, 99),
                sum / (double) n);
        if (objects)
                printf(" objects=%zu", k);
        printf("\n");
        free(t);
        return 0;
}

static int on_changed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        *(double *) userdata = now_us();
        return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
        while (n > 0) {
                ssize_t k = write(fd, p, n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return -1;
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

static int run_edit(
        sd_bus *bus, const char *dest, const char *path, const char *src, const char *dst, unsigned seconds)
{
        char match[1024], tmp[4096], buf[65536];
        double start, seen = 0, deadline;
        ssize_t len;
        int fd, r;

        snprintf(match, sizeof(match),
                "type='signal',sender='%s',path='%s',interface='org.freedesktop.DBus.Properties',"
                "member='PropertiesChanged'",
                dest, path);
        /* Synchronous: the bus has the match before the file changes. */
        r = sd_bus_add_match(bus, NULL, match, on_changed, &seen);
        if (r < 0) {
                fprintf(stderr, "nv-bench-bus: AddMatch: %s\n", strerror(-r));
                return 1;
        }
        fd = open(src, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                fprintf(stderr, "nv-bench-bus: %s: %s\n", src, strerror(errno));
                return 1;
        }
        len = read(fd, buf, sizeof(buf));
        close(fd);
        if (len < 0) {
                fprintf(stderr, "nv-bench-bus: %s: %s\n", src, strerror(errno));
                return 1;
        }
        snprintf(tmp, sizeof(tmp), "%s.nv-bench-tmp", dst);

        start = now_us();
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || write_all(fd, buf, (size_t) len) < 0 || close(fd) < 0 || rename(tmp, dst) < 0) {
                fprintf(stderr, "nv-bench-bus: writing %s: %s\n", dst, strerror(errno));
                return 1;
        }
        deadline = start + seconds * 1e6;
        while (seen == 0) {
                double left = deadline - now_us();
                struct pollfd p = { .fd = sd_bus_get_fd(bus) };

                while ((r = sd_bus_process(bus, NULL)) > 0 && seen == 0)
                        ;
                /* Only now: with messages still queued, sd-bus does not ask for POLLIN. */
                p.events = (short) sd_bus_get_events(bus);
                if (r < 0) {
                        fprintf(stderr, "nv-bench-bus: bus: %s\n", strerror(-r));
                        return 1;
                }
                if (seen != 0)
                        break;
                if (left <= 0) {
                        fprintf(stderr, "nv-bench-bus: no PropertiesChanged on %s within %u s\n", path,
                                seconds);
                        return 1;
                }
                if (poll(&p, 1, (int) (left / 1e3) + 1) < 0 && errno != EINTR)
                        return 1;
        }
        printf("ms=%.3f\n", (seen - start) / 1e3);
        return 0;
}

static int owner_pid(sd_bus *bus, const char *name, uint32_t *pid)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                "GetConnectionUnixProcessID", &error, &reply, "s", name);
        if (r >= 0)
                r = sd_bus_message_read(reply, "u", pid);
        sd_bus_message_unref(reply);
        sd_bus_error_free(&error);
        return r;
}

static int has_owner(sd_bus *bus, const char *name)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int r, b = 0;

        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                "NameHasOwner", &error, &reply, "s", name);
        if (r >= 0)
                r = sd_bus_message_read(reply, "b", &b);
        sd_bus_message_unref(reply);
        sd_bus_error_free(&error);
        return r < 0 ? r : b;
}

static int run_coldstart(sd_bus *bus, const char *dest, const char *path, const char *iface)
{
        const Call getall = { bus, dest, path, "org.freedesktop.DBus.Properties", "GetAll", iface };
        uint32_t pid = 0;
        double start;
        int r;

        r = has_owner(bus, dest);
        if (r != 0) {
                fprintf(stderr, "nv-bench-bus: %s %s\n", dest,
                        r > 0 ? "is already running" : "cannot be asked for");
                return 1;
        }
        start = now_us();
        if (call_once(&getall, NULL) < 0)
                return 1;
        printf("ms=%.2f", (now_us() - start) / 1e3);
        if (owner_pid(bus, dest, &pid) >= 0)
                printf(" pid=%" PRIu32, pid);
        printf("\n");
        return 0;
}

static int run_wait_owner(sd_bus *bus, const char *name, int want, unsigned seconds)
{
        double deadline = now_us() + seconds * 1e6;

        for (;;) {
                int r = has_owner(bus, name);

                if (r < 0) {
                        fprintf(stderr, "nv-bench-bus: NameHasOwner(%s): %s\n", name, strerror(-r));
                        return 1;
                }
                if (r == want)
                        return 0;
                if (now_us() > deadline) {
                        fprintf(stderr, "nv-bench-bus: %s still %s after %u s\n", name,
                                want ? "has no owner" : "has an owner", seconds);
                        return 1;
                }
                usleep(20000);
        }
}

static int run_subscribe(sd_bus *bus, const char *name, const char *method)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        char match[512];
        int r;

        snprintf(match, sizeof(match),
                "type='signal',sender='%s',interface='org.freedesktop.DBus.Properties',member='"
                "PropertiesChanged'",
                name);
        r = sd_bus_add_match(bus, NULL, match, NULL, NULL);
        if (r < 0) {
                fprintf(stderr, "nv-bench-bus: AddMatch: %s\n", strerror(-r));
                return 1;
        }
        if (method) {
                const char *dot = strrchr(method, '.');
                char iface[256], path[256];

                if (!dot || (size_t) (dot - method) >= sizeof(iface)) {
                        fprintf(stderr, "nv-bench-bus: METHOD must be INTERFACE.MEMBER\n");
                        return 2;
                }
                snprintf(iface, sizeof(iface), "%.*s", (int) (dot - method), method);
                /* The object path of a well-known name: dots become slashes. */
                snprintf(path, sizeof(path), "/%s", name);
                for (char *p = path; *p; p++)
                        if (*p == '.')
                                *p = '/';
                r = sd_bus_call_method(bus, name, path, iface, dot + 1, &error, NULL, "");
                if (r < 0) {
                        fprintf(stderr, "nv-bench-bus: %s: %s\n", method,
                                error.message ? error.message : strerror(-r));
                        sd_bus_error_free(&error);
                        return 1;
                }
        }
        printf("SUBSCRIBED\n");
        fflush(stdout);
        for (;;) {
                struct pollfd p[2] = {
                        { .fd = STDIN_FILENO, .events = POLLIN },
                        { .fd = sd_bus_get_fd(bus), .events = (short) sd_bus_get_events(bus) },
                };
                char buf[256];

                while ((r = sd_bus_process(bus, NULL)) > 0)
                        ;
                if (r < 0) {
                        fprintf(stderr, "nv-bench-bus: bus: %s\n", strerror(-r));
                        return 1;
                }
                if (poll(p, 2, -1) < 0 && errno != EINTR)
                        return 1;
                if (p[0].revents && read(STDIN_FILENO, buf, sizeof(buf)) <= 0)
                        return 0;
        }
}

/* Whether MODULE's nested parameter reads WANT: kvm_intel says Y/N, kvm_amd 1/0. */
static bool nested_is(const char *module, int want)
{
        char path[256], c = 0;
        FILE *f;

        snprintf(path, sizeof(path), "/sys/module/%s/parameters/nested", module);
        f = fopen(path, "re");
        if (!f)
                return false;
        if (fread(&c, 1, 1, f) != 1)
                c = 0;
        fclose(f);
        return want ? (c == '1' || c == 'Y' || c == 'y') : (c == '0' || c == 'N' || c == 'n');
}

/* After the change returned at reply (start at start): polls sysfs until it reads want, at most
 * until deadline, and prints both times. */
static int report_toggle(const char *module, int want, double start, double reply, unsigned seconds)
{
        double deadline = start + seconds * 1e6;

        while (!nested_is(module, want)) {
                if (now_us() > deadline) {
                        fprintf(stderr,
                                "nv-bench-bus: /sys/module/%s/parameters/nested did not read %d "
                                "within %u s of the call\n",
                                module, want, seconds);
                        return 1;
                }
                usleep(200);
        }
        printf("reply_ms=%.2f sysfs_ms=%.2f\n", (reply - start) / 1e3, (now_us() - start) / 1e3);
        return 0;
}

static int run_toggle(sd_bus *bus, const char *module, int want, unsigned seconds)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL, *reply = NULL;
        double start;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, "org.nestvirt.NestVirt1", "/org/nestvirt/NestVirt1",
                "org.nestvirt.NestVirt1", "SetNested");
        if (r >= 0)
                r = sd_bus_message_append(m, "bt", want, (uint64_t) 1);
        if (r < 0) {
                fprintf(stderr, "nv-bench-bus: SetNested: %s\n", strerror(-r));
                return 1;
        }
        start = now_us();
        r = sd_bus_call(bus, m, (uint64_t) seconds * 1000000, &error, &reply);
        sd_bus_message_unref(m);
        sd_bus_message_unref(reply);
        if (r < 0) {
                fprintf(stderr, "nv-bench-bus: SetNested(%d, runtime) within %u s: %s: %s\n", want, seconds,
                        error.name ? error.name : "-", error.message ? error.message : strerror(-r));
                sd_bus_error_free(&error);
                return 1;
        }
        return report_toggle(module, want, start, now_us(), seconds);
}

static void on_alarm(int sig)
{
        (void) sig; /* only interrupts waitpid() */
}

/* Runs CMD (split at spaces) with its output on stderr; until deadline at most (the bound of
 * SECONDS from the first command). */
static int run_cmd(const char *cmd, double deadline, unsigned seconds)
{
        char buf[512], *argv[32], *save = NULL;
        double left = (deadline - now_us()) / 1e6;
        int n = 0, status;
        pid_t pid;

        snprintf(buf, sizeof(buf), "%s", cmd);
        for (char *w = strtok_r(buf, " ", &save); w && n < 31; w = strtok_r(NULL, " ", &save))
                argv[n++] = w;
        argv[n] = NULL;
        if (n == 0 || left <= 0)
                return 1;
        pid = fork();
        if (pid < 0)
                return 1;
        if (pid == 0) {
                dup2(STDERR_FILENO, STDOUT_FILENO);
                execvp(argv[0], argv);
                _exit(127);
        }
        alarm((unsigned) left + 1);
        while (waitpid(pid, &status, 0) < 0) {
                if (errno != EINTR || now_us() > deadline) {
                        kill(pid, SIGKILL);
                        waitpid(pid, NULL, 0);
                        fprintf(stderr,
                                "nv-bench-bus: '%s' did not finish within %u s of the first command\n", cmd,
                                seconds);
                        return 1;
                }
        }
        alarm(0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "nv-bench-bus: '%s' failed (wait status %d)\n", cmd, status);
                return 1;
        }
        return 0;
}

static int run_toggle_cmd(const char *module, int want, unsigned seconds, char **cmds, int n)
{
        struct sigaction sa = { .sa_handler = on_alarm }; /* no SA_RESTART: waitpid() returns */
        double start = now_us(), deadline = start + seconds * 1e6;

        sigaction(SIGALRM, &sa, NULL);
        for (int i = 0; i < n; i++)
                if (run_cmd(cmds[i], deadline, seconds) != 0)
                        return 1;
        return report_toggle(module, want, start, now_us(), seconds);
}

/* A number of calls: 1 to 10,000,000. */
static int parse_count(const char *s, unsigned long *ret)
{
        char *end;
        unsigned long n = strtoul(s, &end, 10);

        if (*end || n == 0 || n > 10000000)
                return -EINVAL;
        *ret = n;
        return 0;
}

int main(int argc, char **argv)
{
        sd_bus *bus = NULL;
        int r = 2;

        if (argc < 2)
                goto usage;
        if (strcmp(argv[1], "getall") == 0 && argc == 6) {
                unsigned long n;

                if (parse_count(argv[5], &n) < 0)
                        goto usage;
                bus = open_private_system_bus();
                r = run_calls(&(Call){ bus, argv[2], argv[3], "org.freedesktop.DBus.Properties", "GetAll",
                                      argv[4] },
                        WARMUP_CALLS, n, false);
        } else if (strcmp(argv[1], "coldstart") == 0 && argc == 5) {
                bus = open_private_system_bus();
                r = run_coldstart(bus, argv[2], argv[3], argv[4]);
        } else if (strcmp(argv[1], "call") == 0 && argc == 7) {
                unsigned long n;

                if (parse_count(argv[6], &n) < 0)
                        goto usage;
                bus = open_private_system_bus();
                r = run_calls(&(Call){ bus, argv[2], argv[3], argv[4], argv[5], NULL }, 5, n, false);
        } else if (strcmp(argv[1], "managed") == 0 && argc == 5) {
                unsigned long n;

                if (parse_count(argv[4], &n) < 0)
                        goto usage;
                bus = open_private_system_bus();
                r = run_calls(&(Call){ bus, argv[2], argv[3], "org.freedesktop.DBus.ObjectManager",
                                      "GetManagedObjects", NULL },
                        5, n, true);
        } else if (strcmp(argv[1], "edit") == 0 && argc == 7) {
                bus = open_private_system_bus();
                r = run_edit(bus, argv[2], argv[3], argv[4], argv[5], (unsigned) strtoul(argv[6], NULL, 10));
        } else if (strcmp(argv[1], "pid") == 0 && argc == 3) {
                uint32_t pid;

                bus = open_private_system_bus();
                r = owner_pid(bus, argv[2], &pid);
                if (r >= 0)
                        printf("%" PRIu32 "\n", pid);
                else
                        fprintf(stderr, "nv-bench-bus: no owner of %s\n", argv[2]);
                r = r < 0;
        } else if (strcmp(argv[1], "wait-owner") == 0 && argc == 5 &&
                (strcmp(argv[3], "yes") == 0 || strcmp(argv[3], "no") == 0)) {
                bus = open_private_system_bus();
                r = run_wait_owner(
                        bus, argv[2], strcmp(argv[3], "yes") == 0, (unsigned) strtoul(argv[4], NULL, 10));
        } else if (strcmp(argv[1], "subscribe") == 0 && (argc == 3 || argc == 4)) {
                bus = open_private_system_bus();
                r = run_subscribe(bus, argv[2], argc == 4 ? argv[3] : NULL);
        } else if (strcmp(argv[1], "toggle") == 0 && argc == 5 &&
                (strcmp(argv[3], "0") == 0 || strcmp(argv[3], "1") == 0)) {
                bus = open_private_system_bus();
                r = run_toggle(bus, argv[2], argv[3][0] == '1', (unsigned) strtoul(argv[4], NULL, 10));
        } else if (strcmp(argv[1], "toggle-cmd") == 0 && argc >= 6 &&
                (strcmp(argv[3], "0") == 0 || strcmp(argv[3], "1") == 0)) {
                r = run_toggle_cmd(argv[2], argv[3][0] == '1', (unsigned) strtoul(argv[4], NULL, 10),
                        argv + 5, argc - 5);
        } else
                goto usage;
        sd_bus_flush_close_unref(bus);
        return r;
usage:
        fprintf(stderr,
                "usage: %s getall DEST PATH IFACE N | coldstart DEST PATH IFACE |\n"
                "       call DEST PATH IFACE MEMBER N | managed DEST PATH N |\n"
                "       edit DEST OBJPATH SRC DST SECONDS | pid NAME |\n"
                "       wait-owner NAME yes|no SECONDS | subscribe NAME [INTERFACE.METHOD] |\n"
                "       toggle MODULE 0|1 SECONDS | toggle-cmd MODULE 0|1 SECONDS 'CMD ARGS'...\n",
                argv[0]);
        return 2;
}
