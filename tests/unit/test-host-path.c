/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <sys/stat.h>

#include "fixture.h"
#include "host-path.h"
#include "util.h"

START_TEST(test_root)
{
        _cleanup_free_ char *p = NULL;

        ck_assert_int_eq(unsetenv("NESTVIRT_ROOT"), 0);
        ck_assert_str_eq(nv_host_root(), "");
        p = nv_host_path("/proc/cpuinfo");
        ck_assert_str_eq(p, "/proc/cpuinfo");
        free(p);

        ck_assert_int_eq(setenv("NESTVIRT_ROOT", "", 1), 0);
        ck_assert_str_eq(nv_host_root(), "");

        ck_assert_int_eq(setenv("NESTVIRT_ROOT", "/", 1), 0);
        ck_assert_str_eq(nv_host_root(), "");

        ck_assert_int_eq(setenv("NESTVIRT_ROOT", "/srv/fixture", 1), 0);
        ck_assert_str_eq(nv_host_root(), "/srv/fixture");
        p = nv_host_path("/proc/cpuinfo");
        ck_assert_str_eq(p, "/srv/fixture/proc/cpuinfo");
        free(p);

        /* Trailing slashes are stripped, and a change between calls is seen at once. */
        ck_assert_int_eq(setenv("NESTVIRT_ROOT", "/srv/other///", 1), 0);
        ck_assert_str_eq(nv_host_root(), "/srv/other");
        p = nv_host_path("/sys/module/kvm_intel/parameters/nested");
        ck_assert_str_eq(p, "/srv/other/sys/module/kvm_intel/parameters/nested");
        free(p);

        /* Relative host paths are refused. */
        errno = 0;
        p = nv_host_path("proc/cpuinfo");
        ck_assert_ptr_null(p);
        ck_assert_int_eq(errno, EINVAL);

        unsetenv("NESTVIRT_ROOT");
}
END_TEST

/* procfs reports size 0: the whole file must be read anyway. */
START_TEST(test_read_procfs)
{
        _cleanup_free_ char *text = NULL;
        struct stat st;
        size_t size = 0;

        unsetenv("NESTVIRT_ROOT");
        ck_assert_int_eq(stat("/proc/self/status", &st), 0);
        ck_assert_int_eq(st.st_size, 0);

        ck_assert_int_eq(nv_host_read_file("/proc/self/status", &text, &size), 0);
        ck_assert_uint_gt(size, 0);
        ck_assert_uint_eq(strlen(text), size);
        ck_assert_ptr_nonnull(strstr(text, "\nPid:"));
}
END_TEST

START_TEST(test_read_file)
{
        _cleanup_free_ char *big = NULL, *text = NULL;
        NvFixture *f = NULL;
        size_t size = 1, n = 100000;

        ck_assert_int_eq(nv_fixture_new(NULL, &f), 0);

        /* Larger than any single read. */
        big = malloc(n + 1);
        ck_assert_ptr_nonnull(big);
        for (size_t i = 0; i < n; i++)
                big[i] = (char) ('a' + i % 26);
        big[n - 1] = '\n';
        big[n] = 0;
        ck_assert_int_eq(nv_fixture_write(f, "/proc/cpuinfo", big), 0);
        ck_assert_int_eq(nv_host_read_file("/proc/cpuinfo", &text, &size), 0);
        ck_assert_uint_eq(size, n);
        ck_assert_str_eq(text, big);
        free(TAKE_PTR(text));

        ck_assert_int_eq(nv_fixture_write(f, "/empty", ""), 0);
        ck_assert_int_eq(nv_host_read_file("/empty", &text, &size), 0);
        ck_assert_uint_eq(size, 0);
        ck_assert_str_eq(text, "");
        free(TAKE_PTR(text));

        /* ret_size is optional. */
        ck_assert_int_eq(nv_fixture_write(f, "/etc/x", "y\n"), 0);
        ck_assert_int_eq(nv_host_read_file("/etc/x", &text, NULL), 0);
        ck_assert_str_eq(text, "y\n");
        free(TAKE_PTR(text));

        ck_assert_int_eq(nv_host_read_file("/does/not/exist", &text, NULL), -ENOENT);
        ck_assert_ptr_null(text);
        ck_assert_int_eq(nv_host_read_file("/etc", &text, NULL), -EISDIR);

        nv_fixture_free(f);
}
END_TEST

START_TEST(test_read_line)
{
        static const struct {
                const char *content;
                const char *line;
        } cases[] = {
                { "Y\n", "Y" },
                { "1", "1" },
                { "QEMU  \t\n", "QEMU" },
                { "  Shanghai  \n", "  Shanghai" }, /* only trailing whitespace goes */
                { "first\nsecond\n", "first" },
                { "\nsecond\n", "" },
                { "", "" },
                { "\n", "" },
                { "a\r\n", "a" },
        };
        NvFixture *f = NULL;

        ck_assert_int_eq(nv_fixture_new(NULL, &f), 0);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *line = NULL;

                ck_assert_int_eq(nv_fixture_write(f, "/sys/class/dmi/id/sys_vendor", cases[i].content), 0);
                ck_assert_int_eq(nv_host_read_line("/sys/class/dmi/id/sys_vendor", &line), 0);
                ck_assert_str_eq(line, cases[i].line);
        }

        {
                _cleanup_free_ char *line = NULL;
                ck_assert_int_eq(nv_host_read_line("/sys/class/dmi/id/product_name", &line), -ENOENT);
                ck_assert_ptr_null(line);
                ck_assert_int_eq(nv_host_read_line("/sys/class/dmi/id", &line), -EISDIR);
        }
        nv_fixture_free(f);
}
END_TEST

/* Reads follow the root: the same host path gives each fixture's own file. */
START_TEST(test_switch_root)
{
        NvFixture *a = NULL, *b = NULL;
        char *line = NULL;

        ck_assert_int_eq(nv_fixture_new(NULL, &a), 0);
        ck_assert_int_eq(nv_fixture_write(a, "/proc/sys/kernel/osrelease", "6.1.0-27-amd64\n"), 0);
        ck_assert_int_eq(nv_fixture_new(NULL, &b), 0);
        ck_assert_int_eq(nv_fixture_write(b, "/proc/sys/kernel/osrelease", "6.12.9-amd64\n"), 0);

        ck_assert_int_eq(setenv("NESTVIRT_ROOT", a->root, 1), 0);
        ck_assert_int_eq(nv_host_read_line("/proc/sys/kernel/osrelease", &line), 0);
        ck_assert_str_eq(line, "6.1.0-27-amd64");
        free(line);

        ck_assert_int_eq(setenv("NESTVIRT_ROOT", b->root, 1), 0);
        ck_assert_int_eq(nv_host_read_line("/proc/sys/kernel/osrelease", &line), 0);
        ck_assert_str_eq(line, "6.12.9-amd64");
        free(line);

        nv_fixture_free(a);
        nv_fixture_free(b);
}
END_TEST

static Suite *host_path_suite(void)
{
        Suite *s = suite_create("host-path");
        TCase *tc = tcase_create("paths");

        tcase_add_test(tc, test_root);
        tcase_add_test(tc, test_read_procfs);
        tcase_add_test(tc, test_read_file);
        tcase_add_test(tc, test_read_line);
        tcase_add_test(tc, test_switch_root);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return nv_fixture_run_suite(host_path_suite());
}
