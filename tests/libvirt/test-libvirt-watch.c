/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvirt_watch on a real libvirtd (libvirtd-test.sh run): connected at once, the callback after a
 * domain is defined and undefined, after libvirtd stops (the connection is gone) and after it
 * starts again (connected again, through inotify on the socket's directory). Every wait is bounded
 * by a timer that fails the test.
 */
#include <check.h>
#include <stdlib.h>

#include "libvirt-util.h"
#include "libvirt-vms.h"
#include "libvirt-watch.h"

/* Generous: a libvirtd start probes QEMU for several seconds when its cache is empty. */
#define WAIT_USEC (60ULL * 1000 * 1000)

static unsigned calls;

static void on_change(void *userdata)
{
        calls++;
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata)
{
        ck_abort_msg("no callback within %llu s while waiting for %s", WAIT_USEC / 1000000,
                (const char *) userdata);
        return 0;
}

/* Runs the loop until the callback came and pred holds, or fails after WAIT_USEC. */
static void wait_for(sd_event *e, LibvirtWatch *w, bool connected, const char *what)
{
        sd_event_source *deadline = NULL;
        unsigned before = calls;

        ck_assert_int_ge(sd_event_add_time_relative(
                                 e, &deadline, CLOCK_MONOTONIC, WAIT_USEC, 0, on_deadline, (void *) what),
                0);
        while (calls == before || (libvirt_watch_connection(w) != NULL) != connected)
                ck_assert_int_ge(sd_event_run(e, UINT64_MAX), 0);
        sd_event_source_disable_unref(deadline);
}

static void ctl(const char *verb)
{
        _cleanup_free_ char *cmd = NULL;

        ck_assert_int_ge(
                asprintf(&cmd, "'%s' %s '%s'", getenv("NV_LIBVIRTD_CTL"), verb, getenv("NV_LIBVIRTD_DIR")),
                0);
        ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_watch)
{
        static const char xml[] = "<domain type='qemu'><name>nv-watch</name>"
                                  "<uuid>5e0c7a1d-0000-4000-8000-0000000000e1</uuid>"
                                  "<memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os>"
                                  "<devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>"
                                  "</domain>";
        _cleanup_(libvirt_watch_freep) LibvirtWatch *w = NULL;
        sd_event *e = NULL;
        virDomainPtr d;

        ck_assert_int_ge(sd_event_new(&e), 0);
        ck_assert_int_eq(libvirt_watch_new(e, on_change, NULL, &w), 0);
        ck_assert_ptr_nonnull(libvirt_watch_connection(w));

        /* The test's own calls go over the watch's connection, on the same loop. */
        d = virDomainDefineXML(libvirt_watch_connection(w), xml);
        ck_assert_msg(d, "define: %s", nv_libvirt_message());
        wait_for(e, w, true, "the defined event");
        ck_assert_int_eq(virDomainUndefine(d), 0);
        sym_virDomainFree(d);
        wait_for(e, w, true, "the undefined event");

        ctl("stop");
        wait_for(e, w, false, "the connection to close");
        ctl("start");
        wait_for(e, w, true, "the connection to come back");

        /* Events flow on the new connection. */
        d = virDomainDefineXML(libvirt_watch_connection(w), xml);
        ck_assert_msg(d, "define: %s", nv_libvirt_message());
        wait_for(e, w, true, "the defined event after the reconnection");
        ck_assert_int_eq(virDomainUndefine(d), 0);
        sym_virDomainFree(d);

        w = libvirt_watch_free(w);
        /* The deferred releases of libvirt's objects run in the loop. */
        ck_assert_int_ge(sd_event_run(e, 0), 0);
        sd_event_unref(e);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("libvirt-watch");
        TCase *tc = tcase_create("libvirtd");
        SRunner *sr;
        int failed;

        if (!getenv("NV_LIBVIRTD_CTL") || !getenv("NV_LIBVIRTD_DIR")) {
                fprintf(stderr, "Run through libvirtd-test.sh run.\n");
                return 77;
        }
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, test_watch);
        suite_add_tcase(s, tc);

        sr = srunner_create(s);
        /* One process: libvirt's event implementation is registered once per process. */
        srunner_set_fork_status(sr, CK_NOFORK);
        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
