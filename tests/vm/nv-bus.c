/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * nv-bus: a tiny sd-bus client for the QEMU test tier. It gives the guest scripts exact D-Bus
 * answers (error names, property values, signals) independent of nestvirtctl's wording.
 *
 *   nv-bus get PROPERTY                   print the property's value (s, b, u, t types)
 *   nv-bus call METHOD [ARGS...]          SetNested ENABLED(0|1) FLAGS, ResetPersistent FLAGS,
 *                                         Enforce FLAGS; prints "OK <out args>" or
 *                                         "ERROR <error name>: <message>" (exit 1)
 *   nv-bus watch PROPERTY VALUE SECONDS [READY_FILE]
 *                                         wait for a PropertiesChanged of the nestvirt object
 *                                         that sets PROPERTY to VALUE (or invalidates it, then
 *                                         the value is read back); READY_FILE is created once the
 *                                         match is installed. Prints every signal it sees.
 *                                         Exit 0 when seen, 1 on timeout.
 *
 * The bus is the system bus (DBUS_SYSTEM_BUS_ADDRESS is honoured by sd-bus).
 */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>

#define NAME  "org.nestvirt.NestVirt1"
#define PATH  "/org/nestvirt/NestVirt1"
#define IFACE "org.nestvirt.NestVirt1"

static int usage(void)
{
        fprintf(stderr, "usage: nv-bus get PROP | call METHOD ARGS... | watch PROP VALUE SECONDS [READY]\n");
        return 2;
}

/* Formats a variant's basic value (the message is positioned at the variant). */
static int read_variant(sd_bus_message *m, char *buf, size_t size)
{
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        if (type != 'v')
                return -EINVAL;
        r = sd_bus_message_enter_container(m, 'v', contents);
        if (r < 0)
                return r;

        switch (contents[0]) {
        case 's': {
                const char *s;
                r = sd_bus_message_read_basic(m, 's', &s);
                if (r >= 0)
                        snprintf(buf, size, "%s", s);
                break;
        }
        case 'b': {
                int b;
                r = sd_bus_message_read_basic(m, 'b', &b);
                if (r >= 0)
                        snprintf(buf, size, "%s", b ? "true" : "false");
                break;
        }
        case 'u': {
                uint32_t u;
                r = sd_bus_message_read_basic(m, 'u', &u);
                if (r >= 0)
                        snprintf(buf, size, "%" PRIu32, u);
                break;
        }
        case 't': {
                uint64_t t;
                r = sd_bus_message_read_basic(m, 't', &t);
                if (r >= 0)
                        snprintf(buf, size, "%" PRIu64, t);
                break;
        }
        default:
                snprintf(buf, size, "<%s>", contents);
                r = sd_bus_message_skip(m, contents);
                break;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int get_property(sd_bus *bus, const char *prop, char *buf, size_t size)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_method(bus, NAME, PATH, "org.freedesktop.DBus.Properties", "Get", &error, &reply,
                "ss", IFACE, prop);
        if (r < 0) {
                fprintf(stderr, "nv-bus: Get %s: %s: %s\n", prop, error.name ?: "?",
                        error.message ?: strerror(-r));
                sd_bus_error_free(&error);
                return r;
        }
        r = read_variant(reply, buf, size);
        sd_bus_message_unref(reply);
        return r;
}

static int cmd_get(sd_bus *bus, int argc, char **argv)
{
        char value[4096];

        if (argc != 1)
                return usage();
        if (get_property(bus, argv[0], value, sizeof(value)) < 0)
                return 1;
        printf("%s\n", value);
        return 0;
}

static int parse_u64(const char *s, uint64_t *ret)
{
        char *end;
        errno = 0;
        *ret = strtoull(s, &end, 0);
        return errno || end == s || *end ? -EINVAL : 0;
}

static int cmd_call(sd_bus *bus, int argc, char **argv)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *method;
        uint64_t flags;
        int r;

        if (argc < 1)
                return usage();
        method = argv[0];

        if (strcmp(method, "SetNested") == 0) {
                if (argc != 3 || parse_u64(argv[2], &flags) < 0)
                        return usage();
                r = sd_bus_call_method(bus, NAME, PATH, IFACE, method, &error, &reply, "bt",
                        strcmp(argv[1], "1") == 0 || strcmp(argv[1], "true") == 0, flags);
        } else if (strcmp(method, "ResetPersistent") == 0 || strcmp(method, "Enforce") == 0) {
                if (argc != 2 || parse_u64(argv[1], &flags) < 0)
                        return usage();
                r = sd_bus_call_method(bus, NAME, PATH, IFACE, method, &error, &reply, "t", flags);
        } else
                return usage();

        if (r < 0) {
                printf("ERROR %s: %s\n", error.name ?: "errno", error.message ?: strerror(-r));
                sd_bus_error_free(&error);
                return 1;
        }

        /* Every out argument of these methods is a string or a boolean. */
        printf("OK");
        for (;;) {
                const char *contents;
                char type;

                r = sd_bus_message_peek_type(reply, &type, &contents);
                if (r <= 0)
                        break;
                if (type == 's') {
                        const char *s;
                        if (sd_bus_message_read_basic(reply, 's', &s) < 0)
                                break;
                        printf(" %s", s);
                } else if (type == 'b') {
                        int b;
                        if (sd_bus_message_read_basic(reply, 'b', &b) < 0)
                                break;
                        printf(" %s", b ? "true" : "false");
                } else
                        break;
        }
        printf("\n");
        sd_bus_message_unref(reply);
        return 0;
}

typedef struct {
        const char *prop;
        const char *want;
        bool seen;
} Watch;

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        Watch *w = userdata;
        const char *iface;
        int r;

        r = sd_bus_message_read(m, "s", &iface);
        if (r < 0 || strcmp(iface, IFACE) != 0)
                return 0;

        printf("signal PropertiesChanged:");
        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return 0;
        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                const char *name;
                char value[1024];

                if (sd_bus_message_read_basic(m, 's', &name) < 0 ||
                        read_variant(m, value, sizeof(value)) < 0)
                        return 0;
                printf(" %s=%s", name, value);
                if (strcmp(name, w->prop) == 0 && strcmp(value, w->want) == 0)
                        w->seen = true;
                if (sd_bus_message_exit_container(m) < 0)
                        return 0;
        }
        if (sd_bus_message_exit_container(m) < 0)
                return 0;

        r = sd_bus_message_enter_container(m, 'a', "s");
        if (r > 0) {
                const char *name;
                while (sd_bus_message_read_basic(m, 's', &name) > 0) {
                        printf(" %s(invalidated)", name);
                        if (strcmp(name, w->prop) == 0) {
                                char value[1024];
                                sd_bus *bus = sd_bus_message_get_bus(m);
                                if (get_property(bus, w->prop, value, sizeof(value)) >= 0 &&
                                        strcmp(value, w->want) == 0)
                                        w->seen = true;
                        }
                }
        }
        printf("\n");
        fflush(stdout);
        return 0;
}

static uint64_t now_usec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static int cmd_watch(sd_bus *bus, int argc, char **argv)
{
        Watch w = {};
        sd_bus_slot *slot = NULL;
        uint64_t seconds, deadline;
        int r;

        if (argc < 3 || argc > 4 || parse_u64(argv[2], &seconds) < 0)
                return usage();
        w.prop = argv[0];
        w.want = argv[1];

        /* Synchronous AddMatch: once it returns, the bus delivers every later signal to us. */
        r = sd_bus_match_signal(bus, &slot, NULL, PATH, "org.freedesktop.DBus.Properties",
                "PropertiesChanged", on_properties_changed, &w);
        if (r < 0) {
                fprintf(stderr, "nv-bus: AddMatch: %s\n", strerror(-r));
                return 1;
        }
        if (argc == 4) {
                FILE *f = fopen(argv[3], "we");
                if (!f || fclose(f) != 0) {
                        fprintf(stderr, "nv-bus: %s: %s\n", argv[3], strerror(errno));
                        return 1;
                }
        }

        deadline = now_usec() + seconds * 1000000;
        while (!w.seen) {
                uint64_t now = now_usec();
                if (now >= deadline)
                        break;
                r = sd_bus_process(bus, NULL);
                if (r < 0) {
                        fprintf(stderr, "nv-bus: %s\n", strerror(-r));
                        break;
                }
                if (r > 0)
                        continue;
                r = sd_bus_wait(bus, deadline - now);
                if (r < 0) {
                        fprintf(stderr, "nv-bus: %s\n", strerror(-r));
                        break;
                }
        }
        sd_bus_slot_unref(slot);
        if (!w.seen) {
                printf("timeout: no PropertiesChanged with %s=%s\n", w.prop, w.want);
                return 1;
        }
        printf("seen %s=%s\n", w.prop, w.want);
        return 0;
}

int main(int argc, char *argv[])
{
        sd_bus *bus = NULL;
        int r, ret;

        if (argc < 2)
                return usage();

        r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "nv-bus: cannot connect to the system bus: %s\n", strerror(-r));
                return 1;
        }

        if (strcmp(argv[1], "get") == 0)
                ret = cmd_get(bus, argc - 2, argv + 2);
        else if (strcmp(argv[1], "call") == 0)
                ret = cmd_call(bus, argc - 2, argv + 2);
        else if (strcmp(argv[1], "watch") == 0)
                ret = cmd_watch(bus, argc - 2, argv + 2);
        else
                ret = usage();

        fflush(stdout);
        sd_bus_flush_close_unref(bus);
        return ret;
}
