/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>

#include "config.h"

#include "bus-object.h"
#include "daemon.h"
#include "log.h"
#include "module-facts.h"
#include "nestvirt-bus.h"

#define DEFAULT_IDLE_SEC 30

static void help(void)
{
        printf("nestvirtd [OPTIONS...]\n\n"
               "Serves the state of KVM nested virtualization on the system bus as %s.\n\n"
               "  -h --help                  Show this help\n"
               "     --version               Show the version\n"
               "     --idle-timeout=SECONDS  Exit after this long without calls (default %d, 0: never)\n",
                NESTVIRT_BUS_NAME, DEFAULT_IDLE_SEC);
}

static int parse_argv(int argc, char *argv[], uint64_t *idle_usec)
{
        enum { ARG_VERSION = 0x100, ARG_IDLE_TIMEOUT };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "idle-timeout", required_argument, NULL, ARG_IDLE_TIMEOUT },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("nestvirtd %s\n", PACKAGE_VERSION);
                        return 0;
                case ARG_IDLE_TIMEOUT: {
                        char *end;
                        errno = 0;
                        unsigned long long s = strtoull(optarg, &end, 10);
                        if (errno || end == optarg || *end || optarg[0] == '-' || s > UINT64_MAX / 1000000) {
                                log_error("Invalid --idle-timeout value: %s", optarg);
                                return -EINVAL;
                        }
                        *idle_usec = (uint64_t) s * 1000000;
                        break;
                }
                case '?':
                        return -EINVAL;
                default:
                        return -EINVAL;
                }

        if (optind < argc) {
                log_error("This program takes no arguments.");
                return -EINVAL;
        }
        return 1;
}

int main(int argc, char *argv[])
{
        _cleanup_(daemon_freep) Daemon *d = NULL;
        uint64_t idle_usec = DEFAULT_IDLE_SEC * UINT64_C(1000000);
        int r;

        r = parse_argv(argc, argv, &idle_usec);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

        /* Looking at the module happens in a child: this process maps libkmod only to change it. */
        nv_module_facts_isolate(true);

        r = daemon_new(idle_usec, &d);
        if (r < 0)
                return EXIT_FAILURE;

        r = daemon_start(d, nv_object_vtable);
        if (r < 0)
                return EXIT_FAILURE;

        r = daemon_run(d);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
