/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nv_pve_cache_read_vms(): what a refresh reads again after one edit. The cache must see every
 * edit (in place with the same size and the old mtime, renamed into place, removed, added) and
 * leave the files that did not change unparsed.
 */
#include <check.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host-path.h"
#include "pve-node.h"
#include "pve-root.h"
#include "pve-vms.h"
#include "util.h"

typedef struct Read {
        NvVmConfig *l;
        size_t n;
} Read;

static void read_done(Read *r)
{
        for (size_t i = 0; i < r->n; i++)
                nv_vm_config_done(&r->l[i]);
        free(r->l);
        *r = (Read){};
}

static Read cache_read(NvPveCache *c, const NvPveNode *node, unsigned flags)
{
        Read r = {};

        ck_assert_int_eq(nv_pve_cache_read_vms(c, node, NV_VENDOR_INTEL, flags, &r.l, &r.n), 0);
        return r;
}

static const NvVmConfig *find(const Read *r, const char *vmid)
{
        for (size_t i = 0; i < r->n; i++)
                if (streq(r->l[i].id, vmid))
                        return &r->l[i];
        return NULL;
}

/* The path below the fixture root. */
static char *real_path(const char *host_path)
{
        char *p = nv_host_path(host_path);
        ck_assert_ptr_nonnull(p);
        return p;
}

static void rewrite_in_place(const char *host_path, const char *from, const char *to)
{
        _cleanup_free_ char *path = real_path(host_path), *text = NULL;
        size_t size = 0;
        struct stat st;
        char *at;
        int fd;

        ck_assert_int_eq(strlen(from), strlen(to));
        ck_assert_int_eq(nv_host_read_file(host_path, &text, &size), 0);
        at = strstr(text, from);
        ck_assert_ptr_nonnull(at);
        memcpy(at, to, strlen(to));
        ck_assert_int_eq(stat(path, &st), 0);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(pwrite(fd, text, size, 0), (ssize_t) size);
        /* The same inode, size and mtime as before: only ctime and the content differ. */
        ck_assert_int_eq(futimens(fd, (struct timespec[]){ st.st_atim, st.st_mtim }), 0);
        close(fd);
}

START_TEST(test_cache_edits)
{
        _cleanup_(nv_pve_node_done) NvPveNode node = {};
        _cleanup_(nv_pve_cache_freep) NvPveCache *c = nv_pve_cache_new();
        NvFixture *f = pve_root_new("9.0.30");
        Read plain = {}, r = {};
        size_t files, parsed;

        ck_assert_ptr_nonnull(c);
        ck_assert_int_eq(nv_pve_node_read(&node), 0);
        ck_assert_int_eq(nv_pve_read_vms(&node, NV_VENDOR_INTEL, &plain.l, &plain.n), 0);

        /* The first read parses every file and gives what the reader without a cache gives. */
        r = cache_read(c, &node, NV_PVE_READ_PIDS);
        files = nv_pve_cache_parsed(c);
        ck_assert_uint_ge(files, plain.n);
        ck_assert_uint_eq(r.n, plain.n);
        for (size_t i = 0; i < r.n; i++) {
                ck_assert_str_eq(r.l[i].id, plain.l[i].id);
                ck_assert_str_eq(strempty(r.l[i].cpu), strempty(plain.l[i].cpu));
                ck_assert_int_eq(r.l[i].next, plain.l[i].next);
                ck_assert_int_eq(r.l[i].pid, plain.l[i].pid);
        }
        read_done(&r);

        /* Files changed less than two seconds before a read are read once more at the next. */
        r = cache_read(c, &node, 0);
        ck_assert_uint_eq(nv_pve_cache_parsed(c), 2 * files);
        read_done(&r);
        sleep(3);
        r = cache_read(c, &node, 0);
        read_done(&r);
        parsed = nv_pve_cache_parsed(c);

        /* Nothing changed: nothing is parsed, the same VMs come back. */
        r = cache_read(c, &node, 0);
        ck_assert_uint_eq(nv_pve_cache_parsed(c), parsed);
        ck_assert_uint_eq(r.n, plain.n);
        ck_assert_str_eq(find(&r, "100")->cpu, "host");
        read_done(&r);

        /* An edit in place, same size, mtime put back: parsed again (ctime), the new value seen. */
        rewrite_in_place("/etc/pve/qemu-server/100.conf", "cpu: host", "cpu: max ");
        r = cache_read(c, &node, 0);
        ck_assert_uint_eq(nv_pve_cache_parsed(c), parsed + 1);
        ck_assert_str_eq(find(&r, "100")->cpu, "max");
        read_done(&r);

        /* Again within the same second: 100.conf is racy now, so it is read again whatever its
         * times say, and only it. */
        rewrite_in_place("/etc/pve/qemu-server/100.conf", "cpu: max ", "cpu: host");
        r = cache_read(c, &node, 0);
        ck_assert_uint_eq(nv_pve_cache_parsed(c), parsed + 2);
        ck_assert_str_eq(find(&r, "100")->cpu, "host");
        read_done(&r);

        /* Written to another name and renamed into place: a new inode. */
        pve_root_write(f, "/etc/pve/qemu-server/101.conf.tmp", "cpu: kvm64\nname: renamed\n", 25);
        {
                _cleanup_free_ char *from = real_path("/etc/pve/qemu-server/101.conf.tmp"),
                                    *to = real_path("/etc/pve/qemu-server/101.conf");
                ck_assert_int_eq(rename(from, to), 0);
        }
        r = cache_read(c, &node, 0);
        ck_assert_str_eq(find(&r, "101")->cpu, "kvm64");
        ck_assert_str_eq(find(&r, "101")->name, "renamed");
        ck_assert_uint_eq(r.n, plain.n);
        read_done(&r);

        /* Removed: gone. Added: there. */
        {
                _cleanup_free_ char *path = real_path("/etc/pve/qemu-server/101.conf");
                ck_assert_int_eq(unlink(path), 0);
        }
        pve_root_write(f, "/etc/pve/qemu-server/5000.conf", "cpu: host\nname: new\n", 20);
        r = cache_read(c, &node, 0);
        ck_assert_ptr_null(find(&r, "101"));
        ck_assert_ptr_nonnull(find(&r, "5000"));
        ck_assert_str_eq(find(&r, "5000")->name, "new");
        ck_assert_uint_eq(r.n, plain.n);
        read_done(&r);

        read_done(&plain);
        nv_fixture_free(f);
}
END_TEST

START_TEST(test_cache_pids)
{
        _cleanup_(nv_pve_node_done) NvPveNode node = {};
        _cleanup_(nv_pve_cache_freep) NvPveCache *c = nv_pve_cache_new();
        _cleanup_free_ char *pidfile = NULL;
        NvFixture *f = pve_root_new("9.0.30");
        Read r = {};

        ck_assert_int_eq(nv_pve_node_read(&node), 0);
        r = cache_read(c, &node, NV_PVE_READ_PIDS);
        ck_assert_int_eq(find(&r, "100")->pid, 4242);
        ck_assert(find(&r, "100")->running);
        read_done(&r);

        /* The VM stopped: without NV_PVE_READ_PIDS its process is the one seen before, with it the
         * pid file is read again. */
        pidfile = real_path("/var/run/qemu-server/100.pid");
        ck_assert_int_eq(unlink(pidfile), 0);
        r = cache_read(c, &node, 0);
        ck_assert_int_eq(find(&r, "100")->pid, 4242);
        read_done(&r);
        r = cache_read(c, &node, NV_PVE_READ_PIDS);
        ck_assert_int_eq(find(&r, "100")->pid, 0);
        ck_assert(!find(&r, "100")->running);
        read_done(&r);

        /* Not a node any more: nothing, and nothing kept. */
        {
                _cleanup_(nv_pve_node_done) NvPveNode none = {};
                r = cache_read(c, &none, NV_PVE_READ_PIDS);
                ck_assert_uint_eq(r.n, 0);
                read_done(&r);
        }
        nv_fixture_free(f);
}
END_TEST

static Suite *pve_cache_suite(void)
{
        Suite *s = suite_create("pve-cache");
        TCase *tc = tcase_create("cache");

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_cache_edits);
        tcase_add_test(tc, test_cache_pids);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return nv_fixture_run_suite(pve_cache_suite());
}
