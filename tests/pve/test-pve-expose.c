/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <sys/stat.h>

#include "pve-api.h"
#include "pve-root.h"
#include "pve-vms.h"
#include "util.h"

#define LOG "/pvesh.log"

typedef struct Env {
        NvFixture *f;
        NvPveNode node;
} Env;

/* A node with qemu-server version, pvesh being the stand-in that logs below the root. */
static void env_new(Env *e, const char *version)
{
        _cleanup_free_ char *log = NULL;
        const char *standin = getenv("NESTVIRT_PVESH_STANDIN");

        ck_assert_ptr_nonnull(standin);
        *e = (Env){ .f = pve_root_new(version) };
        ck_assert_int_ge(asprintf(&log, "%s" LOG, e->f->root), 0);
        ck_assert_int_eq(setenv("NESTVIRT_PVESH", standin, 1), 0);
        ck_assert_int_eq(setenv("NESTVIRT_PVESH_LOG", log, 1), 0);
        ck_assert_int_eq(unsetenv("NESTVIRT_PVESH_RACE"), 0);
        ck_assert_int_eq(unsetenv("NESTVIRT_PVESH_QEMU_SERVER"), 0);
        ck_assert_int_eq(nv_pve_node_read(&e->node), 0);
}

static void env_done(Env *e)
{
        nv_pve_node_done(&e->node);
        nv_fixture_free(e->f);
}

/* The digest PVE gives a config: the SHA-1 of the file, here from sha1sum. */
static char *conf_sha1(Env *e, const char *vmid)
{
        _cleanup_free_ char *cmd = NULL;
        char hex[41] = {};
        FILE *p;

        ck_assert_int_ge(asprintf(&cmd, "sha1sum '%s/etc/pve/qemu-server/%s.conf'", e->f->root, vmid), 0);
        p = popen(cmd, "re");
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq(fread(hex, 1, 40, p), 40);
        ck_assert_int_eq(pclose(p), 0);
        return strdup(hex);
}

/* The log must hold exactly these calls: "get" for the get, or the cpu of a set. */
static void check_log(Env *e, const char *vmid, const char *digest, const char *set_cpu, bool any)
{
        _cleanup_free_ char *log = pve_root_read(e->f, LOG), *expect = NULL;

        if (!any) {
                ck_assert_msg(!log, "pvesh ran: %s", strempty(log));
                return;
        }
        if (set_cpu)
                ck_assert_int_ge(
                        asprintf(&expect,
                                "get\t/nodes/" PVE_NODE "/qemu/%s/config\t--output-format\tjson\n"
                                "set\t/nodes/" PVE_NODE "/qemu/%s/config\t--cpu\t%s\t--digest\t%s\n",
                                vmid, vmid, set_cpu, digest),
                        0);
        else
                ck_assert_int_ge(
                        asprintf(&expect, "get\t/nodes/" PVE_NODE "/qemu/%s/config\t--output-format\tjson\n",
                                vmid),
                        0);
        ck_assert_msg(streq_ptr(log, expect), "log:\n%s\nexpected:\n%s", strempty(log), expect);
}

static void expose(Env *e, const char *vmid, bool on, uint64_t flags, NvExposeResult *ret)
{
        ck_assert_int_eq(nv_pve_set_exposure(&e->node, NV_VENDOR_INTEL, vmid, on, flags, ret), 0);
        if (ret->status != NV_EXPOSE_DONE)
                fprintf(stderr, "%s: %s\n", vmid, strempty(ret->message));
}

/* A change that must end with status and a message that contains needle. */
static void expect_refusal(
        Env *e, const char *vmid, bool on, uint64_t flags, NvExposeStatus status, const char *needle)
{
        _cleanup_(nv_expose_result_done) NvExposeResult r = {};

        expose(e, vmid, on, flags, &r);
        ck_assert_msg(r.status == status, "%s: status %d, expected %d", vmid, r.status, status);
        ck_assert_msg(strstr(strempty(r.message), needle), "%s: '%s' lacks '%s'", vmid, strempty(r.message),
                needle);
}

static void check_done(const NvExposeResult *r, const char *cpu, bool changed)
{
        ck_assert_msg(r->status == NV_EXPOSE_DONE, "status %d: %s", r->status, strempty(r->message));
        ck_assert_str_eq(r->cpu, cpu);
        ck_assert(r->changed == changed);
}

START_TEST(test_expose_stopped)
{
        _cleanup_(nv_expose_result_done) NvExposeResult r = {};
        _cleanup_(nv_vm_config_done) NvVmConfig c = {};
        _cleanup_free_ char *digest = NULL, *conf = NULL;
        Env e;

        env_new(&e, "9.0.30");
        digest = conf_sha1(&e, "102");
        expose(&e, "102", true, 0, &r);
        check_done(&r, "kvm64,flags=+nested-virt", true);
        check_log(&e, "102", digest, "kvm64,flags=+nested-virt", true);

        /* Stopped: into the current config, where the reader sees it. */
        conf = pve_root_read(e.f, "/etc/pve/qemu-server/102.conf");
        ck_assert_ptr_nonnull(strstr(conf, "\ncpu: kvm64,flags=+nested-virt\n"));
        ck_assert_ptr_null(strstr(conf, "[PENDING]"));
        ck_assert_int_eq(nv_pve_read_vm(&e.node, NV_VENDOR_INTEL, "102", &c), 0);
        ck_assert_int_eq(c.next, NV_VM_NESTING_EXPOSED);
        ck_assert_int_eq(c.next_by, NV_VM_SOURCE_FLAG);
        ck_assert(c.requires);
        ck_assert(!c.pending_change);
        env_done(&e);
}
END_TEST

START_TEST(test_hide_running)
{
        _cleanup_(nv_expose_result_done) NvExposeResult r = {};
        _cleanup_(nv_vm_config_done) NvVmConfig c = {};
        _cleanup_free_ char *digest = NULL;
        Env e;

        env_new(&e, "9.0.30");
        digest = conf_sha1(&e, "100");
        expose(&e, "100", false, 0, &r);
        check_done(&r, "host,flags=-nested-virt", true);
        check_log(&e, "100", digest, "host,flags=-nested-virt", true);

        /* Running: cpu is no hot-pluggable option, PVE keeps it in [PENDING]. */
        ck_assert_int_eq(nv_pve_read_vm(&e.node, NV_VENDOR_INTEL, "100", &c), 0);
        ck_assert_str_eq(c.cpu, "host,flags=-nested-virt");
        ck_assert_str_eq(c.cpu_now, "host");
        ck_assert(c.pending_change);
        ck_assert(c.running);
        ck_assert_int_eq(c.next, NV_VM_NESTING_HIDDEN);
        ck_assert_str_eq(c.name, "ci-runner");
        env_done(&e);
}
END_TEST

START_TEST(test_edits_keep_parts)
{
        _cleanup_(nv_expose_result_done) NvExposeResult a = {}, b = {}, d = {};
        Env e;

        env_new(&e, "9.0.30");
        /* A -nested-virt dropped is enough; hidden=1 stays where it was. */
        expose(&e, "103", true, 0, &a);
        check_done(&a, "host,hidden=1", true);
        /* +nested-virt off, the model's own flag stays. */
        expose(&e, "101", false, 0, &b);
        check_done(&b, "x86-64-v2-AES,flags=+aes", true);
        /* A custom model that adds vmx: the VM's -nested-virt overrides it. */
        expose(&e, "106", false, 0, &d);
        check_done(&d, "custom-nested,flags=-nested-virt", true);
        env_done(&e);
}
END_TEST

START_TEST(test_noop)
{
        _cleanup_(nv_expose_result_done) NvExposeResult a = {}, b = {};
        Env e;

        env_new(&e, "9.0.30");
        expose(&e, "100", true, 0, &a);
        check_done(&a, "host", false);
        /* The unset cpu is kvm64, hidden. */
        expose(&e, "102", false, NV_EXPOSE_HOST_MODEL, &b);
        check_done(&b, "kvm64", false);
        {
                _cleanup_free_ char *log = pve_root_read(e.f, LOG);
                ck_assert_ptr_nonnull(log);
                ck_assert_ptr_null(strstr(log, "set\t"));
        }
        env_done(&e);
}
END_TEST

START_TEST(test_locked)
{
        Env e;

        env_new(&e, "9.0.30");
        expect_refusal(&e, "114", false, 0, NV_EXPOSE_LOCKED, "VM 114 is locked (backup)");
        check_log(&e, "114", NULL, NULL, true);
        env_done(&e);
}
END_TEST

START_TEST(test_digest_race)
{
        _cleanup_free_ char *conf = NULL;
        Env e;

        env_new(&e, "9.0.30");
        ck_assert_int_eq(setenv("NESTVIRT_PVESH_RACE", "1", 1), 0);
        expect_refusal(&e, "104", false, 0, NV_EXPOSE_MANAGER_FAILED,
                "checksum mismatch (file change by other user?)");
        conf = pve_root_read(e.f, "/etc/pve/qemu-server/104.conf");
        ck_assert_str_eq(conf, "cpu: max\nname: max-vm\ntags: changed-by-other-user\n");
        env_done(&e);
}
END_TEST

START_TEST(test_old_qemu_server)
{
        _cleanup_(nv_expose_result_done) NvExposeResult g = {};
        _cleanup_free_ char *digest = NULL;
        Env e;

        env_new(&e, "8.4.1");
        expect_refusal(&e, "117", true, 0, NV_EXPOSE_NOT_SUPPORTED,
                "qemu-server 8.4.1 has no nested-virt CPU flag (9.0.27 and later have it): only CPU type "
                "host");
        check_log(&e, "117", NULL, NULL, true);

        /* Hiding host needs -nested-virt; a custom model's +vmx too. */
        expect_refusal(&e, "104", false, 0, NV_EXPOSE_NOT_SUPPORTED,
                "CPU type max passes vmx through to VM 104, and qemu-server 8.4.1 has no -nested-virt flag "
                "(9.0.27 and later have it): pick another CPU type");
        expect_refusal(&e, "106", false, 0, NV_EXPOSE_NOT_SUPPORTED, "custom-nested");

        /* The host model works with any version; snapshots and cloud-init stay as they were. */
        ck_assert_int_eq(nv_fixture_remove(e.f, LOG), 0);
        digest = conf_sha1(&e, "117");
        expose(&e, "117", true, NV_EXPOSE_HOST_MODEL, &g);
        check_done(&g, "host", true);
        check_log(&e, "117", digest, "host", true);
        {
                _cleanup_free_ char *conf = pve_root_read(e.f, "/etc/pve/qemu-server/117.conf");
                ck_assert_ptr_nonnull(strstr(conf, "[snap1]\ncpu: host\nsnaptime: 1718000001\n"));
                ck_assert_ptr_nonnull(strstr(conf, "[special:cloudinit]\ncpu: host\n"));
        }
        env_done(&e);
}
END_TEST

START_TEST(test_refusals)
{
        _cleanup_(nv_expose_result_done) NvExposeResult g = {};
        Env e;

        env_new(&e, "9.0.30");
        expect_refusal(&e, "110", true, 0, NV_EXPOSE_NOT_SUPPORTED, "-cpu host,-vmx,-svm");
        expect_refusal(&e, "115", true, 0, NV_EXPOSE_NOT_SUPPORTED, "no x86 guest");
        expect_refusal(&e, "108", true, 0, NV_EXPOSE_NOT_SUPPORTED, "custom-missing");
        ck_assert_int_eq(nv_pve_set_exposure(&e.node, NV_VENDOR_INTEL, "100", true, 2, &g), -EINVAL);
        env_done(&e);
}
END_TEST

START_TEST(test_vanished)
{
        Env e;

        env_new(&e, "9.0.30");
        expect_refusal(&e, "999", true, 0, NV_EXPOSE_NO_SUCH_VM, "VM 999 does not exist on this node");
        expect_refusal(&e, "01", true, 0, NV_EXPOSE_NO_SUCH_VM, "'01' is no Proxmox VE VMID");
        check_log(&e, NULL, NULL, NULL, false);

        /* pvesh's own answer for a config that is gone meanwhile. */
        {
                _cleanup_free_ char *script = NULL;
                ck_assert_int_eq(
                        nv_fixture_write(e.f, "/gone.sh",
                                "#!/bin/sh\necho \"Configuration file 'nodes/pve1/qemu-server/121.conf' "
                                "does not exist\" >&2\nexit 255\n"),
                        0);
                ck_assert_int_ge(asprintf(&script, "%s/gone.sh", e.f->root), 0);
                ck_assert_int_eq(chmod(script, 0755), 0);
                ck_assert_int_eq(setenv("NESTVIRT_PVESH", script, 1), 0);
        }
        ck_assert_int_eq(nv_fixture_write(e.f, "/etc/pve/qemu-server/121.conf", "cpu: host\n"), 0);
        ck_assert_int_eq(nv_pvesh_failure_status(
                                 "Configuration file 'nodes/pve1/qemu-server/121.conf' does not exist"),
                NV_EXPOSE_NO_SUCH_VM);
        ck_assert_int_eq(nv_pvesh_failure_status("VM is locked (migrate)"), NV_EXPOSE_LOCKED);
        ck_assert_int_eq(nv_pvesh_failure_status("500 internal error"), NV_EXPOSE_MANAGER_FAILED);
        expect_refusal(&e, "121", true, 0, NV_EXPOSE_NO_SUCH_VM, "121.conf' does not exist");
        env_done(&e);
}
END_TEST

START_TEST(test_manager_failed)
{
        Env e;

        env_new(&e, "9.0.30");
        /* The stand-in refuses a node that is not this one, with PVE's words. */
        free(e.node.node);
        e.node.node = strdup("pve2");
        expect_refusal(&e, "104", false, 0, NV_EXPOSE_MANAGER_FAILED, "no such cluster node 'pve2'");

        ck_assert_int_eq(setenv("NESTVIRT_PVESH", "/nonexistent/pvesh", 1), 0);
        expect_refusal(&e, "104", false, 0, NV_EXPOSE_MANAGER_FAILED, "Could not run /nonexistent/pvesh");
        env_done(&e);
}
END_TEST

START_TEST(test_run_bounds)
{
        _cleanup_(nv_pve_run_done) NvPveRun a = {}, b = {};
        char *sleeper[] = { (char *) "/bin/sh", (char *) "-c", (char *) "echo started; exec sleep 30",
                NULL };
        char *talker[] = { (char *) "/bin/sh", (char *) "-c", (char *) "echo out; echo err >&2; exit 3",
                NULL };

        ck_assert_int_eq(nv_pve_run(sleeper, 300, &a), 0);
        ck_assert(a.timed_out);
        ck_assert(!a.exited);
        ck_assert_str_eq(a.out, "started\n");

        ck_assert_int_eq(nv_pve_run(talker, 10000, &b), 0);
        ck_assert(b.exited);
        ck_assert_int_eq(b.status, 3);
        ck_assert_str_eq(b.out, "out\n");
        ck_assert_str_eq(b.err, "err\n");
}
END_TEST

static Suite *pve_expose_suite(void)
{
        Suite *s = suite_create("pve-expose");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_expose_stopped);
        tcase_add_test(tc, test_hide_running);
        tcase_add_test(tc, test_edits_keep_parts);
        tcase_add_test(tc, test_noop);
        tcase_add_test(tc, test_locked);
        tcase_add_test(tc, test_digest_race);
        tcase_add_test(tc, test_old_qemu_server);
        tcase_add_test(tc, test_refusals);
        tcase_add_test(tc, test_vanished);
        tcase_add_test(tc, test_manager_failed);
        tcase_add_test(tc, test_run_bounds);
        tcase_set_timeout(tc, 60);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return nv_fixture_run_suite(pve_expose_suite());
}
