/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <sys/stat.h>

#include "pve-root.h"
#include "util.h"

static char *source_text(const char *rel)
{
        _cleanup_free_ char *path = nv_fixture_source_path(rel);
        _cleanup_fclose_ FILE *f = NULL;
        char *text = NULL;
        size_t n = 0;

        ck_assert_ptr_nonnull(path);
        f = fopen(path, "re");
        ck_assert_msg(f, "%s: %m", path);
        ck_assert_int_ge(getdelim(&text, &n, 0, f), 0);
        return text;
}

static void copy_in(NvFixture *f, const char *rel, const char *host_path)
{
        _cleanup_free_ char *text = source_text(rel);
        ck_assert_int_eq(nv_fixture_write(f, host_path, text), 0);
}

void pve_root_write(NvFixture *f, const char *host_path, const void *data, size_t size)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_fclose_ FILE *file = NULL;

        /* nv_fixture_write() makes the directories; the content follows. */
        ck_assert_int_eq(nv_fixture_write(f, host_path, ""), 0);
        ck_assert_int_ge(asprintf(&path, "%s%s", f->root, host_path), 0);
        file = fopen(path, "we");
        ck_assert_ptr_nonnull(file);
        ck_assert_uint_eq(fwrite(data, 1, size, file), size);
}

char *pve_root_read(NvFixture *f, const char *host_path)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_fclose_ FILE *file = NULL;
        char *text = NULL;
        size_t n = 0;

        ck_assert_int_ge(asprintf(&path, "%s%s", f->root, host_path), 0);
        file = fopen(path, "re");
        if (!file)
                return NULL;
        if (getdelim(&text, &n, 0, file) < 0) {
                free(text);
                return strdup("");
        }
        return text;
}

NvFixture *pve_root_new(const char *version)
{
        static const char cmdline[] = "/usr/bin/kvm\0-id\0"
                                      "100\0-name\0ci-runner,debug-threads=on\0-cpu\0host,+kvm_pv_eoi\0";
        _cleanup_free_ char *dir = NULL, *link = NULL;
        NvFixture *f = NULL;
        struct dirent *de;
        DIR *d;

        ck_assert_int_eq(nv_fixture_new(NULL, &f), 0);

        dir = nv_fixture_source_path("pve/qemu-server");
        ck_assert_ptr_nonnull(dir);
        d = opendir(dir);
        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d))) {
                _cleanup_free_ char *rel = NULL, *host = NULL;

                if (de->d_name[0] == '.')
                        continue;
                ck_assert_int_ge(asprintf(&rel, "pve/qemu-server/%s", de->d_name), 0);
                ck_assert_int_ge(asprintf(&host, "/etc/pve/qemu-server/%s", de->d_name), 0);
                copy_in(f, rel, host);
        }
        closedir(d);

        copy_in(f, "pve/cpu-models.conf", "/etc/pve/virtual-guest/cpu-models.conf");
        if (version) {
                _cleanup_free_ char *rel = NULL;
                ck_assert_int_ge(asprintf(&rel, "pve/dpkg-status-%s", version), 0);
                copy_in(f, rel, "/var/lib/dpkg/status");
        }

        ck_assert_int_eq(nv_fixture_write(f, "/etc/pve/nodes/" PVE_NODE "/lrm_status", "{}"), 0);
        ck_assert_int_ge(asprintf(&link, "%s/etc/pve/local", f->root), 0);
        ck_assert_int_eq(symlink("nodes/" PVE_NODE, link), 0);

        ck_assert_int_eq(nv_fixture_write(f, "/var/run/qemu-server/100.pid", "4242\n"), 0);
        pve_root_write(f, "/proc/4242/cmdline", cmdline, sizeof(cmdline) - 1);
        /* A stale pid file: no such process. */
        ck_assert_int_eq(nv_fixture_write(f, "/var/run/qemu-server/101.pid", "4343\n"), 0);
        /* A pid file naming another VM's process. */
        ck_assert_int_eq(nv_fixture_write(f, "/var/run/qemu-server/102.pid", "4242\n"), 0);
        return f;
}
