/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sd-bus client of bench/run.sh. It talks to the bus in $DBUS_SYSTEM_BUS_ADDRESS only and
 * refuses to run without it, so it never reaches the real system bus.
 *
 *   nv-bench-bus getall DEST PATH IFACE N      N GetAll(IFACE) calls, one at a time, after 100
 *                                              untimed ones: "n=N p50_us=.. p99_us=.. mean_us=.."
 *   nv-bench-bus coldstart DEST PATH IFACE     one GetAll(IFACE) while DEST has no owner, so the
 *                                              bus activates it: "ms=.. pid=.."
 *   nv-bench-bus pid NAME                      the pid of NAME's owner
 *   nv-bench-bus wait-owner NAME yes|no SEC    until NAME has (yes) or has no (no) owner, at most
 *                                              SEC seconds; exit status 1 on timeout
 *   nv-bench-bus subscribe NAME [METHOD]       a PropertiesChanged match on NAME, and METHOD
 *                                              (e.g. org.nestvirt.NestVirt1.Subscribe) called on
 *                                              NAME's object when given; prints "SUBSCRIBED" and
 *                                              stays connected until stdin reaches end of file
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static int get_all(sd_bus *bus, const char *dest, const char *path, const char *iface)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_method(
                bus, dest, path, "org.freedesktop.DBus.Properties", "GetAll", &error, &reply, "s", iface);
        if (r < 0)
                fprintf(stderr, "nv-bench-bus: GetAll(%s) on %s: %s\n", iface, dest,
                        error.message ? error.message : strerror(-r));
        sd_bus_message_unref(reply);
        sd_bus_error_free(&error);
        return r;
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

static int run_getall(sd_bus *bus, const char *dest, const char *path, const char *iface, size_t n)
{
        double *t, sum = 0;

        for (size_t i = 0; i < WARMUP_CALLS; i++)
                if (get_all(bus, dest, path, iface) < 0)
                        return 1;
        t = calloc(n, sizeof(double));
        if (!t)
                return 1;
        for (size_t i = 0; i < n; i++) {
                double start = now_us();

                if (get_all(bus, dest, path, iface) < 0) {
                        free(t);
                        return 1;
                }
                t[i] = now_us() - start;
                sum += t[i];
        }
        qsort(t, n, sizeof(double), cmp_double);
        printf("n=%zu p50_us=%.1f p99_us=%.1f mean_us=%.1f\n", n, percentile(t, n, 50), percentile(t, n, 99),
                sum / (double) n);
        free(t);
        return 0;
}

static int run_coldstart(sd_bus *bus, const char *dest, const char *path, const char *iface)
{
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
        if (get_all(bus, dest, path, iface) < 0)
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

int main(int argc, char **argv)
{
        sd_bus *bus;
        int r = 2;

        if (argc < 2)
                goto usage;
        if (strcmp(argv[1], "getall") == 0 && argc == 6) {
                char *end;
                unsigned long n = strtoul(argv[5], &end, 10);

                if (*end || n == 0 || n > 10000000)
                        goto usage;
                bus = open_private_system_bus();
                r = run_getall(bus, argv[2], argv[3], argv[4], n);
        } else if (strcmp(argv[1], "coldstart") == 0 && argc == 5) {
                bus = open_private_system_bus();
                r = run_coldstart(bus, argv[2], argv[3], argv[4]);
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
        } else
                goto usage;
        sd_bus_flush_close_unref(bus);
        return r;
usage:
        fprintf(stderr,
                "usage: %s getall DEST PATH IFACE N | coldstart DEST PATH IFACE | pid NAME |\n"
                "       wait-owner NAME yes|no SECONDS | subscribe NAME [INTERFACE.METHOD]\n",
                argv[0]);
        return 2;
}
