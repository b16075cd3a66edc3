/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The whole snapshot (nv_host_load) on every fixture host. Runs with the test preload library
 * (LD_PRELOAD), which shows libkmod the fixture's /sys/module and /proc/cmdline.
 */
#include <check.h>
#include <sys/stat.h>

#include "fixture.h"
#include "host.h"
#include "module-facts.h"
#include "util.h"

#define E NV_NESTED_ENABLED
#define D NV_NESTED_DISABLED
#define I NV_NESTED_INVALID
#define U NV_NESTED_UNKNOWN

#define RELEASE "6.1.0-27-amd64"
#define CMDLINE NV_SOURCE_KERNEL_CMDLINE
#define DEFAULT NV_SOURCE_KERNEL_DEFAULT

typedef struct SettingExp {
        const char *source;
        const char *value;
        NvNested effect;
} SettingExp;

typedef struct HostExp {
        const char *host;
        const char *release;
        NvVendor vendor;
        bool hardware;
        const char *module;
        NvModuleState state;
        unsigned refcnt;
        NvNested nested; /* live */
        NvNested next_load;
        const char *source;
        const char *overridden[4]; /* NULL-terminated */
        bool conflict;
        size_t n_settings;
        SettingExp settings[4];
        bool modules_disabled;
        bool guest;
        const char *hypervisor;
} HostExp;

static const HostExp hosts[] = {
        {
                .host = "intel-host",
                .release = RELEASE,
                .vendor = NV_VENDOR_INTEL,
                .hardware = true,
                .module = "kvm_intel",
                .state = NV_MODULE_LOADED,
                .refcnt = 3, /* VMs running */
                .nested = E,
                .next_load = E,
                .source = DEFAULT, /* systemd.conf and aliases.conf say nothing about kvm */
        },
        {
                .host = "amd-host",
                .release = RELEASE,
                .vendor = NV_VENDOR_AMD,
                .hardware = true,
                .module = "kvm_amd",
                .state = NV_MODULE_LOADED,
                .refcnt = 0,
                .nested = E,
                .next_load = E,
                .source = DEFAULT,
        },
        {
                /* Acceptance case: the kernel command line comes after every file and wins. */
                .host = "amd-cmdline-override",
                .release = RELEASE,
                .vendor = NV_VENDOR_AMD,
                .hardware = true,
                .module = "kvm_amd",
                .state = NV_MODULE_LOADED,
                .nested = E,
                .next_load = E,
                .source = CMDLINE,
                .overridden = { "/etc/modprobe.d/kvm-amd.conf" },
                .conflict = true,
                .n_settings = 2,
                .settings = {
                        { "/etc/modprobe.d/kvm-amd.conf", "0", D },
                        { CMDLINE, "1", E },
                },
        },
        {
                /* kvm_amd's nested is an int: "Y" makes the next load fail. */
                .host = "amd-nested-Y",
                .release = RELEASE,
                .vendor = NV_VENDOR_AMD,
                .hardware = true,
                .module = "kvm_amd",
                .state = NV_MODULE_LOADED,
                .nested = E,
                .next_load = I,
                .source = "/etc/modprobe.d/kvm-amd.conf",
                .n_settings = 1,
                .settings = {
                        { "/etc/modprobe.d/kvm-amd.conf", "Y", I },
                },
        },
        {
                /* Built in: /etc/modprobe.d/kvm-intel.conf (nested=0) must not count. */
                .host = "intel-builtin",
                .release = RELEASE,
                .vendor = NV_VENDOR_INTEL,
                .hardware = true,
                .module = "kvm_intel",
                .state = NV_MODULE_BUILTIN,
                .nested = E,
                .next_load = E,
                .source = DEFAULT,
        },
        {
                /* Built in, switched off on the command line in the dashed spelling; the
                 * modprobe.d file (nested=1) still must not count. */
                .host = "intel-builtin-cmdline",
                .release = RELEASE,
                .vendor = NV_VENDOR_INTEL,
                .hardware = true,
                .module = "kvm_intel",
                .state = NV_MODULE_BUILTIN,
                .nested = D,
                .next_load = D,
                .source = CMDLINE,
                .n_settings = 1,
                .settings = {
                        { CMDLINE, "0", D },
                },
        },
        {
                .host = "intel-not-loaded",
                .release = RELEASE,
                .vendor = NV_VENDOR_INTEL,
                .hardware = true,
                .module = "kvm_intel",
                .state = NV_MODULE_NOT_LOADED,
                .nested = U,
                .next_load = E,
                .source = "/etc/modprobe.d/qemu-system-x86.conf",
                .n_settings = 1,
                .settings = {
                        { "/etc/modprobe.d/qemu-system-x86.conf", "1", E },
                },
        },
        {
                /* Modules only for 6.1.0-26-amd64. */
                .host = "amd-unavailable",
                .release = RELEASE,
                .vendor = NV_VENDOR_AMD,
                .hardware = true,
                .module = "kvm_amd",
                .state = NV_MODULE_UNAVAILABLE,
                .nested = U,
                .next_load = E,
                .source = DEFAULT,
        },
        {
                .host = "guest-with-vmx",
                .release = RELEASE,
                .vendor = NV_VENDOR_INTEL,
                .hardware = true,
                .module = "kvm_intel",
                .state = NV_MODULE_LOADED,
                .nested = E,
                .next_load = E,
                .source = DEFAULT,
                .guest = true,
                .hypervisor = "qemu",
        },
        {
                .host = "guest-without-vmx",
                .release = RELEASE,
                .vendor = NV_VENDOR_INTEL,
                .hardware = false,
                .module = "kvm_intel",
                .state = NV_MODULE_NOT_LOADED,
                .nested = U,
                .next_load = E,
                .source = DEFAULT,
                .guest = true,
                .hypervisor = "kvm",
        },
        {
                /*
                 * By file name: 50-distro.conf (1), 70-other.conf (y), 90-admin.conf (0) in /etc,
                 * which shadows /usr/lib/modprobe.d/90-admin.conf (1). kvm.conf.bak and kvm-nested
                 * are not "*.conf" and are never read. /lib is a link to /usr/lib (merged /usr).
                 */
                .host = "conflicting-files",
                .release = RELEASE,
                .vendor = NV_VENDOR_INTEL,
                .hardware = true,
                .module = "kvm_intel",
                .state = NV_MODULE_LOADED,
                .nested = E,
                .next_load = D,
                .source = "/etc/modprobe.d/90-admin.conf",
                .overridden = { "/usr/lib/modprobe.d/50-distro.conf", "/etc/modprobe.d/70-other.conf" },
                .conflict = true,
                .n_settings = 3,
                .settings = {
                        { "/usr/lib/modprobe.d/50-distro.conf", "1", E },
                        { "/etc/modprobe.d/70-other.conf", "y", E },
                        { "/etc/modprobe.d/90-admin.conf", "0", D },
                },
        },
        {
                /* Empty parameters/nested; every line of kvm.conf is bad; kvm_intel.ept=1 on the
                 * command line is an option of kvm_intel but not nested. */
                .host = "garbage",
                .release = RELEASE,
                .vendor = NV_VENDOR_INTEL,
                .hardware = true,
                .module = "kvm_intel",
                .state = NV_MODULE_LOADED,
                .nested = U,
                .next_load = E,
                .source = DEFAULT,
        },
        {
                .host = "modules-disabled",
                .release = RELEASE,
                .vendor = NV_VENDOR_AMD,
                .hardware = true,
                .module = "kvm_amd",
                .state = NV_MODULE_LOADED,
                .nested = D,
                .next_load = D,
                .source = "/etc/modprobe.d/kvm-amd.conf",
                .n_settings = 1,
                .settings = {
                        { "/etc/modprobe.d/kvm-amd.conf", "0", D },
                },
                .modules_disabled = true,
        },
        {
                /* Nothing known, nothing crashes. */
                .host = "empty",
                .release = NULL,
                .vendor = NV_VENDOR_UNKNOWN,
                .module = NULL,
                .state = NV_MODULE_UNAVAILABLE,
                .nested = U,
                .next_load = U,
                .source = NULL,
        },
};

static const HostExp *find_host(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(hosts); i++)
                if (streq(hosts[i].host, name))
                        return hosts + i;
        return NULL;
}

#define ASSERT_NESTED(what, got, want)                                             \
        ck_assert_msg((got) == (want), "%s: %s is %s, expected %s", e->host, what, \
                nv_nested_to_string(got), nv_nested_to_string(want))

static void assert_host(const NvHost *h, const HostExp *e)
{
        size_t n_overridden = 0;

        ck_assert_msg(streq_ptr(h->kernel_release, e->release), "%s: release %s", e->host,
                h->kernel_release ?: "NULL");
        ck_assert_msg(
                h->cpu.vendor == e->vendor, "%s: vendor %s", e->host, nv_vendor_to_string(h->cpu.vendor));
        ck_assert_msg(nv_cpu_info_hardware_support(&h->cpu) == e->hardware, "%s: hardware support", e->host);
        ck_assert_msg(streq_ptr(h->module, e->module), "%s: module %s", e->host, h->module ?: "NULL");
        ck_assert_msg(h->module_state == e->state, "%s: module state %s, expected %s", e->host,
                nv_module_state_to_string(h->module_state), nv_module_state_to_string(e->state));
        ck_assert_msg(h->refcnt == e->refcnt, "%s: refcnt %u, expected %u", e->host, h->refcnt, e->refcnt);
        ASSERT_NESTED("live nested", h->nested, e->nested);
        ASSERT_NESTED("next load", h->config.next_load, e->next_load);
        ck_assert_msg(streq_ptr(h->config.source, e->source), "%s: source %s, expected %s", e->host,
                h->config.source ?: "NULL", e->source ?: "NULL");

        while (n_overridden < ELEMENTSOF(e->overridden) && e->overridden[n_overridden])
                n_overridden++;
        ck_assert_msg(strv_length(h->config.overridden) == n_overridden, "%s: %zu overridden, expected %zu",
                e->host, strv_length(h->config.overridden), n_overridden);
        for (size_t i = 0; i < n_overridden; i++)
                ck_assert_msg(streq(h->config.overridden[i], e->overridden[i]), "%s: overridden[%zu] %s",
                        e->host, i, h->config.overridden[i]);
        ck_assert_msg(h->config.conflict == e->conflict, "%s: conflict %d", e->host, h->config.conflict);

        ck_assert_msg(h->config.n_settings == e->n_settings, "%s: %zu settings, expected %zu", e->host,
                h->config.n_settings, e->n_settings);
        for (size_t i = 0; i < e->n_settings; i++) {
                const NvNestedSetting *s = h->config.settings + i;
                ck_assert_msg(streq_ptr(s->source, e->settings[i].source), "%s: setting %zu from %s",
                        e->host, i, s->source ?: "NULL");
                ck_assert_msg(streq_ptr(s->value, e->settings[i].value), "%s: setting %zu value %s", e->host,
                        i, s->value ?: "(bare)");
                ASSERT_NESTED("a setting", s->effect, e->settings[i].effect);
        }

        ck_assert_msg(h->modules_disabled == e->modules_disabled, "%s: modules_disabled %d", e->host,
                h->modules_disabled);
        ck_assert_msg(h->virt.guest == e->guest, "%s: guest %d", e->host, h->virt.guest);
        ck_assert_msg(streq_ptr(h->virt.hypervisor, e->hypervisor), "%s: hypervisor %s", e->host,
                h->virt.hypervisor ?: "NULL");
}

static void load_and_check(const HostExp *e)
{
        NvFixture *f = NULL;
        NvHost *h = NULL;

        ck_assert_int_eq(nv_fixture_new(e->host, &f), 0);
        ck_assert_int_eq(nv_host_load(&h), 0);
        ck_assert_ptr_nonnull(h);
        assert_host(h, e);
        nv_host_free(h);
        nv_fixture_free(f);
}

START_TEST(test_host)
{
        load_and_check(hosts + _i);
}
END_TEST

/* The same facts when libkmod answers in a child process, as in nestvirtd; the ignored settings
 * cross the pipe too. */
START_TEST(test_host_isolated)
{
        NvModuleFacts here = {}, child = {};
        NvFixture *f = NULL;
        _cleanup_free_ char *release = NULL;
        const HostExp *e = hosts + _i;

        nv_module_facts_isolate(true);
        load_and_check(e);

        if (!e->module)
                goto done;
        ck_assert_int_eq(nv_fixture_new(e->host, &f), 0);
        ck_assert_int_eq(nv_kernel_release(&release), 0);
        ck_assert_int_eq(nv_module_facts_read(release, e->module, E, &child), 0);
        nv_module_facts_isolate(false);
        ck_assert_int_eq(nv_module_facts_read(release, e->module, E, &here), 0);
        ck_assert_uint_eq(child.config.n_ignored, here.config.n_ignored);
        for (size_t i = 0; i < here.config.n_ignored; i++) {
                ck_assert_str_eq(child.config.ignored[i].source, here.config.ignored[i].source);
                ck_assert(streq_ptr(child.config.ignored[i].value, here.config.ignored[i].value));
                ck_assert_int_eq(child.config.ignored[i].effect, here.config.ignored[i].effect);
        }
        nv_module_facts_done(&here);
        nv_module_facts_done(&child);
        nv_fixture_free(f);
done:
        nv_module_facts_isolate(false);
}
END_TEST

/* A modprobe.d file that never answers (a FIFO without a writer) hangs libkmod; the child that
 * asks it is ended at the deadline and the caller gets -EPROTO instead of waiting forever. */
START_TEST(test_host_isolated_hang)
{
        _cleanup_free_ char *release = NULL, *fifo = NULL;
        NvModuleFacts facts = {};
        NvFixture *f = NULL;
        NvHost *h = NULL;

        ck_assert_int_eq(nv_fixture_new("amd-host", &f), 0);
        ck_assert_int_eq(nv_fixture_write(f, "/etc/modprobe.d/kvm.conf", "options kvm_amd nested=1\n"), 0);
        ck_assert_int_ge(asprintf(&fifo, "%s/etc/modprobe.d/hang.conf", f->root), 0);
        ck_assert_int_eq(mkfifo(fifo, 0600), 0);
        ck_assert_int_eq(nv_kernel_release(&release), 0);

        nv_module_facts_isolate(true);
        ck_assert_int_eq(nv_module_facts_read(release, "kvm_amd", E, &facts), -EPROTO);

        /* The snapshot still knows the loaded module and its live value from sysfs. */
        ck_assert_int_eq(nv_host_load(&h), 0);
        ck_assert_int_eq(h->module_state, NV_MODULE_LOADED);
        ck_assert_int_eq(h->nested, E);
        ck_assert_int_eq(h->config.next_load, U);
        nv_host_free(h);
        nv_module_facts_isolate(false);
        nv_fixture_free(f);
}
END_TEST

/* Every host under tests/fixtures/hosts has expectations here, and every expectation a host;
 * the check-* hosts belong to tests/findings. */
START_TEST(test_all_hosts_covered)
{
        _cleanup_strv_free_ char **names = NULL;

        ck_assert_int_eq(nv_fixture_list_hosts(&names), 0);
        for (size_t i = 0; names && names[i]; i++)
                ck_assert_msg(startswith(names[i], "check-") || find_host(names[i]),
                        "fixture host %s has no expectations in test-host", names[i]);
        for (size_t i = 0; i < ELEMENTSOF(hosts); i++)
                ck_assert_msg(strv_contains(names, hosts[i].host), "no fixture host %s", hosts[i].host);
}
END_TEST

/* Nothing is cached between snapshots: a new file and a new root are seen at once. */
START_TEST(test_snapshot_is_fresh)
{
        NvFixture *f = NULL;
        NvHost *h = NULL;

        ck_assert_int_eq(nv_fixture_new("intel-host", &f), 0);
        ck_assert_int_eq(nv_host_load(&h), 0);
        ck_assert_str_eq(h->config.source, DEFAULT);
        h = nv_host_free(h);

        ck_assert_int_eq(
                nv_fixture_write(f, "/etc/modprobe.d/99-nestvirtd.conf", "options kvm_intel nested=0\n"), 0);
        ck_assert_int_eq(nv_host_load(&h), 0);
        ck_assert_str_eq(h->config.source, "/etc/modprobe.d/99-nestvirtd.conf");
        ck_assert_int_eq(h->config.next_load, D);
        h = nv_host_free(h);

        /* The module goes away (as after an unload). */
        ck_assert_int_eq(nv_fixture_remove(f, "/sys/module/kvm_intel"), 0);
        ck_assert_int_eq(nv_host_load(&h), 0);
        ck_assert_int_eq(h->module_state, NV_MODULE_NOT_LOADED);
        ck_assert_int_eq(h->nested, U);
        h = nv_host_free(h);
        nv_fixture_free(f);

        /* Another root in the same process. */
        ck_assert_int_eq(nv_fixture_new("amd-host", &f), 0);
        ck_assert_int_eq(nv_host_load(&h), 0);
        ck_assert_str_eq(h->module, "kvm_amd");
        ck_assert_int_eq(h->module_state, NV_MODULE_LOADED);
        h = nv_host_free(h);
        nv_fixture_free(f);
}
END_TEST

/* A /proc that cannot be scanned is no VM count of 0: the snapshot says so, ListVMs refuses. */
START_TEST(test_vm_scan_error)
{
        NvFixture *f = NULL;
        NvHost *h = NULL;

        ck_assert_int_eq(nv_fixture_new("amd-host", &f), 0);
        ck_assert_int_eq(nv_host_load(&h), 0);
        ck_assert_int_eq(h->vm_scan_error, 0);
        h = nv_host_free(h);

        ck_assert_int_eq(nv_fixture_remove(f, "/proc"), 0);
        ck_assert_int_eq(nv_fixture_write(f, "/proc", "not a directory\n"), 0);
        ck_assert_int_eq(nv_host_load(&h), 0);
        ck_assert_int_eq(h->vm_scan_error, -ENOTDIR);
        ck_assert_uint_eq(h->vm_count, 0);
        h = nv_host_free(h);
        nv_fixture_free(f);
}
END_TEST

/* libkmod joins the options entries of all files and the kernel command line into one string:
 * an entry that ends the kernel's arguments hides the entries after it. */
START_TEST(test_arguments_end_across_files)
{
        NvFixture *f = NULL;
        NvHost *h = NULL;

        ck_assert_int_eq(nv_fixture_new("intel-host", &f), 0);

        /* "--": the kernel reads "nested=0", then stops. */
        ck_assert_int_eq(
                nv_fixture_write(f, "/etc/modprobe.d/50-a.conf", "options kvm_intel nested=0 -- x\n"), 0);
        ck_assert_int_eq(
                nv_fixture_write(f, "/etc/modprobe.d/60-b.conf", "options kvm_intel nested=1\n"), 0);
        ck_assert_int_eq(nv_host_load(&h), 0);
        ck_assert_int_eq(h->config.next_load, D);
        ck_assert_str_eq(h->config.source, "/etc/modprobe.d/50-a.conf");
        ck_assert_int_eq(h->config.n_settings, 1);
        h = nv_host_free(h);

        /* An open quote makes the later "nested=1" a part of foo's value. */
        ck_assert_int_eq(
                nv_fixture_write(f, "/etc/modprobe.d/50-a.conf", "options kvm_intel foo=\"bar\n"), 0);
        ck_assert_int_eq(nv_host_load(&h), 0);
        ck_assert_int_eq(h->config.next_load, E);
        ck_assert_str_eq(h->config.source, DEFAULT);
        ck_assert_int_eq(h->config.n_settings, 0);
        h = nv_host_free(h);

        /* A closed quote ends nothing. */
        ck_assert_int_eq(
                nv_fixture_write(f, "/etc/modprobe.d/50-a.conf", "options kvm_intel foo=\"a b\" nested=0\n"),
                0);
        ck_assert_int_eq(nv_host_load(&h), 0);
        ck_assert_int_eq(h->config.n_settings, 2);
        ck_assert_str_eq(h->config.source, "/etc/modprobe.d/60-b.conf");
        h = nv_host_free(h);
        nv_fixture_free(f);
}
END_TEST

START_TEST(test_kernel_default)
{
        ck_assert_int_eq(nv_host_kernel_default("kvm_amd", RELEASE), E);
        ck_assert_int_eq(nv_host_kernel_default("kvm_amd", NULL), E);
        ck_assert_int_eq(nv_host_kernel_default("kvm_intel", RELEASE), E);
        ck_assert_int_eq(nv_host_kernel_default("kvm_intel", "4.20.0"), E);
        ck_assert_int_eq(nv_host_kernel_default("kvm_intel", "5.10.0-32-amd64"), E);
        ck_assert_int_eq(nv_host_kernel_default("kvm_intel", "4.19.0-27-amd64"), D);
        ck_assert_int_eq(nv_host_kernel_default("kvm_intel", "3.10.0-1160.el7.x86_64"), D);
        ck_assert_int_eq(nv_host_kernel_default("kvm_intel", NULL), U);
        ck_assert_int_eq(nv_host_kernel_default("kvm_intel", "garbage"), U);
        ck_assert_int_eq(nv_host_kernel_default(NULL, RELEASE), U);
        ck_assert_int_eq(nv_host_kernel_default("kvm", RELEASE), U);
}
END_TEST

static Suite *host_suite(void)
{
        Suite *s = suite_create("host");
        TCase *tc = tcase_create("snapshot");

        tcase_add_loop_test(tc, test_host, 0, (int) ELEMENTSOF(hosts));
        tcase_add_loop_test(tc, test_host_isolated, 0, (int) ELEMENTSOF(hosts));
        tcase_add_test(tc, test_host_isolated_hang);
        tcase_add_test(tc, test_all_hosts_covered);
        tcase_add_test(tc, test_snapshot_is_fresh);
        tcase_add_test(tc, test_arguments_end_across_files);
        tcase_add_test(tc, test_vm_scan_error);
        tcase_add_test(tc, test_kernel_default);
        /* Copying a host and running depmod takes a moment under valgrind. */
        tcase_set_timeout(tc, 120);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return nv_fixture_run_suite_preloaded(host_suite());
}
