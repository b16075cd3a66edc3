/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The modprobe.d drop-in (dropin.c) and the atomic file replacement under it (fileio.c), on a
 * blank root with an etc/modprobe.d directory.
 */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "dropin.h"
#include "fixture.h"
#include "host-path.h"
#include "kvm-module.h"
#include "module-options.h"
#include "util.h"

#define E NV_NESTED_ENABLED
#define D NV_NESTED_DISABLED

#define DIR_HOST "/etc/modprobe.d"

static NvFixture *fx;

static char *root_path(const char *host_path)
{
        char *p = nv_host_path(host_path);

        ck_assert_ptr_nonnull(p);
        return p;
}

static void setup(void)
{
        _cleanup_free_ char *etc = NULL, *dir = NULL;

        ck_assert_int_eq(nv_fixture_new(NULL, &fx), 0);
        etc = root_path("/etc");
        dir = root_path(DIR_HOST);
        ck_assert_int_eq(mkdir(etc, 0755), 0);
        ck_assert_int_eq(mkdir(dir, 0755), 0);
}

static void teardown(void)
{
        fx = nv_fixture_free(fx);
}

/* The drop-in's bytes; NULL when absent. */
static char *read_dropin(size_t *ret_size)
{
        char *s = NULL;
        int r = nv_host_read_file(NV_DROPIN_PATH, &s, ret_size);

        if (r == -ENOENT)
                return NULL;
        ck_assert_msg(r >= 0, "reading the drop-in: %s", strerror(-r));
        return s;
}

static struct stat lstat_dropin(void)
{
        _cleanup_free_ char *p = root_path(NV_DROPIN_PATH);
        struct stat st;

        ck_assert_int_eq(lstat(p, &st), 0);
        return st;
}

static void assert_regular_0644(void)
{
        struct stat st = lstat_dropin();

        ck_assert_msg(S_ISREG(st.st_mode), "the drop-in is not a regular file (mode %o)", st.st_mode);
        ck_assert_msg((st.st_mode & 07777) == 0644, "mode %o", st.st_mode & 07777);
        ck_assert_int_eq(st.st_uid, geteuid());
}

/* No temporary file (".#NAME.PID") is left next to the drop-in. */
static void assert_no_temp_files(void)
{
        _cleanup_free_ char *dir = root_path(DIR_HOST);
        struct dirent *de;
        DIR *d = opendir(dir);

        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d)))
                ck_assert_msg(!startswith(de->d_name, ".#"), "temporary file left: %s", de->d_name);
        closedir(d);
}

static void assert_lines(const char *content, int v)
{
        _cleanup_free_ char *intel = NULL, *amd = NULL;

        ck_assert_int_ge(asprintf(&intel, "\noptions kvm_intel nested=%d\n", v), 0);
        ck_assert_int_ge(asprintf(&amd, "\noptions kvm_amd nested=%d\n", v), 0);
        ck_assert_msg(strstr(content, intel), "no \"%s\" in:\n%s", intel + 1, content);
        ck_assert_msg(strstr(content, amd), "no \"%s\" in:\n%s", amd + 1, content);
        /* kvm_amd refuses nested=Y: the values are numeric, never Y/N. */
        ck_assert(!strstr(content, "nested=Y") && !strstr(content, "nested=N"));
        ck_assert(content[strlen(content) - 1] == '\n');
}

/* What libkmod makes of the configuration for module: the last nested value, as the kernel. */
static char *kmod_nested(const char *module)
{
        _cleanup_(sym_kmod_unrefp) struct kmod_ctx *ctx = NULL;
        _cleanup_(sym_kmod_module_unrefp) struct kmod_module *mod = NULL;
        char *value = NULL;

        ck_assert_int_eq(nv_kmod_new("6.1.0-27-amd64", &ctx), 0);
        ck_assert_int_eq(sym_kmod_module_new_from_name(ctx, module, &mod), 0);
        if (nv_options_find_nested(strempty(sym_kmod_module_get_options(mod)), &value) <= 0)
                return NULL;
        return value;
}

START_TEST(test_write)
{
        _cleanup_free_ char *c1 = NULL, *c2 = NULL, *k = NULL;
        mode_t old_umask;

        /* The umask must not decide the mode. */
        old_umask = umask(077);

        ck_assert(!nv_dropin_matches(E));
        ck_assert(!nv_dropin_matches(D));

        ck_assert_int_eq(nv_dropin_write(E), 0);
        c1 = read_dropin(NULL);
        ck_assert_ptr_nonnull(c1);
        assert_lines(c1, 1);
        assert_regular_0644();
        assert_no_temp_files();
        ck_assert(nv_dropin_matches(E));
        ck_assert(!nv_dropin_matches(D));
        ck_assert(!nv_dropin_matches(NV_NESTED_UNKNOWN));

        ck_assert_int_eq(nv_dropin_write(D), 0);
        c2 = read_dropin(NULL);
        assert_lines(c2, 0);
        assert_regular_0644();
        assert_no_temp_files();
        ck_assert(nv_dropin_matches(D));
        ck_assert(!nv_dropin_matches(E));

        /* Writing the same value again changes nothing. */
        ck_assert_int_eq(nv_dropin_write(D), 0);
        free(c1);
        c1 = read_dropin(NULL);
        ck_assert_str_eq(c1, c2);

        /* Only the two real values can be written; the file stays as it was. */
        ck_assert_int_eq(nv_dropin_write(NV_NESTED_UNKNOWN), -EINVAL);
        ck_assert_int_eq(nv_dropin_write(NV_NESTED_INVALID), -EINVAL);
        free(c1);
        c1 = read_dropin(NULL);
        ck_assert_str_eq(c1, c2);

        /* An edit by hand no longer matches. */
        ck_assert_int_eq(nv_fixture_write(fx, NV_DROPIN_PATH, "options kvm_amd nested=0\n"), 0);
        ck_assert(!nv_dropin_matches(D));

        /* libkmod reads it, and it sorts after a distribution's kvm.conf: its value wins. */
        ck_assert_int_eq(nv_dropin_write(D), 0);
        ck_assert_int_eq(nv_fixture_write(fx, "/etc/modprobe.d/kvm.conf",
                                 "options kvm_amd nested=1\noptions kvm_intel nested=1\n"),
                0);
        ck_assert_int_eq(nv_fixture_write(fx, "/usr/lib/modprobe.d/qemu-system-x86.conf",
                                 "options kvm_intel nested=1\n"),
                0);
        k = kmod_nested("kvm_amd");
        ck_assert_str_eq(strempty(k), "0");
        free(k);
        k = kmod_nested("kvm_intel");
        ck_assert_str_eq(strempty(k), "0");
        umask(old_umask);
}
END_TEST

START_TEST(test_symlink_replaced)
{
        static const char target_content[] = "# somebody else's file\noptions kvm_amd nested=1\n";
        _cleanup_free_ char *target = NULL, *link = NULL, *victim = NULL, *tmp = NULL, *c = NULL, *t = NULL;

        ck_assert_int_eq(nv_fixture_write(fx, "/elsewhere/target.conf", target_content), 0);
        target = root_path("/elsewhere/target.conf");
        link = root_path(NV_DROPIN_PATH);
        ck_assert_int_eq(symlink(target, link), 0);

        /* A link planted where the temporary file goes is not followed either. */
        ck_assert_int_eq(nv_fixture_write(fx, "/elsewhere/victim", "victim\n"), 0);
        victim = root_path("/elsewhere/victim");
        ck_assert_int_ge(asprintf(&tmp, "%s/.#zz-nestvirt.conf.%d", DIR_HOST, (int) getpid()), 0);
        free(link);
        link = root_path(tmp);
        ck_assert_int_eq(symlink(victim, link), 0);

        ck_assert_int_eq(nv_dropin_write(D), 0);
        assert_regular_0644();
        assert_no_temp_files();
        ck_assert(nv_dropin_matches(D));

        ck_assert_int_eq(nv_host_read_file("/elsewhere/target.conf", &t, NULL), 0);
        ck_assert_str_eq(t, target_content);
        free(t);
        t = NULL;
        ck_assert_int_eq(nv_host_read_file("/elsewhere/victim", &t, NULL), 0);
        ck_assert_str_eq(t, "victim\n");

        /* Removing it removes the file, not a link's target. */
        ck_assert_int_eq(nv_dropin_remove(), 1);
        c = read_dropin(NULL);
        ck_assert_ptr_null(c);
}
END_TEST

START_TEST(test_save_restore)
{
        static const char edited[] = "# edited by hand\noptions kvm_amd nested=0 npt=1\n\n";
        _cleanup_free_ char *saved = NULL, *c = NULL;
        char *absent = (char *) "not touched";

        /* Absent: saved as NULL, and restoring NULL removes the file again. */
        ck_assert_int_eq(nv_dropin_save(&absent), 0);
        ck_assert_ptr_null(absent);

        ck_assert_int_eq(nv_dropin_write(E), 0);
        ck_assert_int_eq(nv_dropin_save(&saved), 0);
        ck_assert_ptr_nonnull(saved);
        c = read_dropin(NULL);
        ck_assert_str_eq(saved, c);
        free(c);

        ck_assert_int_eq(nv_dropin_write(D), 0);
        ck_assert_int_eq(nv_dropin_restore(saved), 0);
        c = read_dropin(NULL);
        ck_assert_str_eq(c, saved);
        ck_assert(nv_dropin_matches(E));
        assert_regular_0644();
        free(c);
        free(saved);
        saved = NULL;

        /* Anything the administrator had comes back byte for byte. */
        ck_assert_int_eq(nv_fixture_write(fx, NV_DROPIN_PATH, edited), 0);
        ck_assert_int_eq(nv_dropin_save(&saved), 0);
        ck_assert_str_eq(saved, edited);
        ck_assert_int_eq(nv_dropin_write(E), 0);
        ck_assert_int_eq(nv_dropin_restore(saved), 0);
        c = read_dropin(NULL);
        ck_assert_str_eq(c, edited);
        assert_regular_0644();

        ck_assert_int_eq(nv_dropin_restore(NULL), 1);
        ck_assert(!read_dropin(NULL));
        ck_assert_int_eq(nv_dropin_restore(NULL), 0);

        ck_assert_int_eq(nv_dropin_write(D), 0);
        ck_assert_int_eq(nv_dropin_remove(), 1);
        ck_assert_int_eq(nv_dropin_remove(), 0);
        ck_assert(!read_dropin(NULL));
        ck_assert(!nv_dropin_matches(D));
        assert_no_temp_files();
}
END_TEST

START_TEST(test_remove_without_dir)
{
        _cleanup_free_ char *dir = root_path(DIR_HOST);

        ck_assert_int_eq(rmdir(dir), 0);
        ck_assert_int_eq(nv_dropin_remove(), 0);
}
END_TEST

static const char old_content[] = "# the administrator's own\noptions kvm_amd nested=1\n";

static void assert_old_content(void)
{
        _cleanup_free_ char *c = NULL;
        size_t size = 0;

        c = read_dropin(&size);
        ck_assert_ptr_nonnull(c);
        ck_assert_uint_eq(size, strlen(old_content));
        ck_assert(memcmp(c, old_content, size) == 0);
}

START_TEST(test_failure_tmp_blocked)
{
        _cleanup_free_ char *tmp = NULL, *tmp_real = NULL;

        ck_assert_int_eq(nv_fixture_write(fx, NV_DROPIN_PATH, old_content), 0);

        /*
         * The tests run as root, and root writes into a directory with mode 0555 all the same
         * (CAP_DAC_OVERRIDE), so chmod cannot make the write fail. A directory in the place of the
         * temporary file can: unlinkat() without AT_REMOVEDIR does not remove it (EISDIR), and
         * openat(O_CREAT|O_EXCL) then fails with EEXIST before anything is written.
         */
        ck_assert_int_ge(asprintf(&tmp, "%s/.#zz-nestvirt.conf.%d", DIR_HOST, (int) getpid()), 0);
        tmp_real = root_path(tmp);
        ck_assert_int_eq(mkdir(tmp_real, 0755), 0);

        ck_assert_int_eq(nv_dropin_write(D), -EEXIST);
        assert_old_content();
        ck_assert_int_eq(nv_dropin_restore("whatever\n"), -EEXIST);
        assert_old_content();

        ck_assert_int_eq(rmdir(tmp_real), 0);
        ck_assert_int_eq(nv_dropin_write(D), 0);
        ck_assert(nv_dropin_matches(D));
}
END_TEST

START_TEST(test_failure_short_write)
{
        struct rlimit old, lim;
        int r;

        ck_assert_int_eq(nv_fixture_write(fx, NV_DROPIN_PATH, old_content), 0);

        /*
         * A write that fails halfway: RLIMIT_FSIZE binds root as well. Past the limit write()
         * fails with EFBIG (and raises SIGXFSZ, ignored here), after the first bytes of the
         * temporary file were written. No check macro runs while the limit is in force: check
         * itself writes to files.
         */
        ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
        ck_assert(signal(SIGXFSZ, SIG_IGN) != SIG_ERR);
        lim = old;
        lim.rlim_cur = 16;
        ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
        r = nv_dropin_write(D);
        (void) setrlimit(RLIMIT_FSIZE, &old);
        (void) signal(SIGXFSZ, SIG_DFL);

        ck_assert_int_eq(r, -EFBIG);
        assert_old_content();
        assert_no_temp_files();
}
END_TEST

START_TEST(test_creates_dir)
{
        /* No /etc/modprobe.d yet (a minimal system): the write creates it. */
        _cleanup_free_ char *dir = root_path(DIR_HOST), *etc = root_path("/etc");
        struct stat st;

        ck_assert_int_eq(rmdir(dir), 0);
        ck_assert_int_eq(rmdir(etc), 0);
        ck_assert_int_eq(nv_dropin_write(D), 0);
        ck_assert_int_eq(stat(dir, &st), 0);
        ck_assert(S_ISDIR(st.st_mode));
        ck_assert(nv_dropin_matches(D));
        assert_regular_0644();
}
END_TEST

/* ---- readers never see half a file ---- */

#define N_WRITERS     2
#define MIN_READS     200
#define READ_DEADLINE 60 /* seconds */

static int writer(int stop_fd, int phase)
{
        for (unsigned long i = phase;; i++) {
                char c;

                if (nv_dropin_write(i % 2 ? E : D) < 0)
                        return 1;
                if (read(stop_fd, &c, 1) >= 0 || errno != EAGAIN)
                        return 0;
        }
}

START_TEST(test_concurrent_readers)
{
        _cleanup_free_ char *c_on = NULL, *c_off = NULL;
        unsigned long n_on = 0, n_off = 0, n_reads = 0;
        pid_t pids[N_WRITERS];
        int stop[2];
        time_t deadline;

        ck_assert_int_eq(nv_dropin_write(E), 0);
        c_on = read_dropin(NULL);
        ck_assert_int_eq(nv_dropin_write(D), 0);
        c_off = read_dropin(NULL);
        ck_assert_str_ne(c_on, c_off);

        /* The writers stop when the read end reports EOF: when the parent closes its end. */
        ck_assert_int_eq(pipe2(stop, O_CLOEXEC), 0);
        ck_assert_int_eq(fcntl(stop[0], F_SETFL, O_NONBLOCK), 0);
        fflush(NULL);
        for (int i = 0; i < N_WRITERS; i++) {
                pids[i] = fork();
                ck_assert_int_ge(pids[i], 0);
                if (pids[i] == 0) {
                        close(stop[1]);
                        _exit(writer(stop[0], i));
                }
        }
        close(stop[0]);

        /* Read until both contents were seen, and at least MIN_READS times. */
        deadline = time(NULL) + READ_DEADLINE;
        while ((n_reads < MIN_READS || n_on == 0 || n_off == 0) && time(NULL) < deadline) {
                _cleanup_free_ char *c = NULL;
                int r = nv_host_read_file(NV_DROPIN_PATH, &c, NULL);

                if (r < 0) {
                        close(stop[1]);
                        ck_abort_msg("read %lu: %s", n_reads, strerror(-r));
                }
                if (streq(c, c_on))
                        n_on++;
                else if (streq(c, c_off))
                        n_off++;
                else {
                        close(stop[1]);
                        ck_abort_msg("read %lu saw a partial or mixed file:\n%s", n_reads, c);
                }
                n_reads++;
        }
        close(stop[1]);

        for (int i = 0; i < N_WRITERS; i++) {
                int status;

                ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
                ck_assert_msg(
                        WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer %d: status %d", i, status);
        }
        ck_assert_msg(n_on > 0 && n_off > 0, "%lu reads: %lu enabled, %lu disabled", n_reads, n_on, n_off);
        ck_assert_uint_ge(n_reads, MIN_READS);
        assert_no_temp_files();
}
END_TEST

/* ---- regressions of fixed core bugs ---- */

/*
 * nestvirtd.service runs with UMask=0077, and nv_host_mkdir() (host-path.c) passes its mode to
 * mkdir() as it is: a missing /etc/modprobe.d is created 0700 instead of 0755, unlike the
 * drop-in itself, whose mode the code fixes with fchmod().
 */
START_TEST(test_created_dir_mode)
{
        _cleanup_free_ char *dir = root_path(DIR_HOST);
        mode_t old_umask = umask(077);
        struct stat st;
        int r;

        ck_assert_int_eq(rmdir(dir), 0);
        r = nv_dropin_write(D);
        umask(old_umask);
        ck_assert_int_eq(r, 0);
        ck_assert_int_eq(stat(dir, &st), 0);
        ck_assert_msg(
                (st.st_mode & 07777) == 0755, "/etc/modprobe.d created with mode %o", st.st_mode & 07777);
}
END_TEST

static Suite *dropin_suite(void)
{
        Suite *s = suite_create("dropin");
        TCase *tc = tcase_create("dropin");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_write);
        tcase_add_test(tc, test_symlink_replaced);
        tcase_add_test(tc, test_save_restore);
        tcase_add_test(tc, test_remove_without_dir);
        tcase_add_test(tc, test_failure_tmp_blocked);
        tcase_add_test(tc, test_failure_short_write);
        tcase_add_test(tc, test_creates_dir);
        tcase_add_test(tc, test_concurrent_readers);
        tcase_add_test(tc, test_created_dir_mode);
        tcase_set_timeout(tc, 120);
        suite_add_tcase(s, tc);

        return s;
}

int main(void)
{
        return nv_fixture_run_suite(dropin_suite());
}
