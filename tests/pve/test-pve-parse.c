/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>

#include "json-flat.h"
#include "pve-config.h"
#include "pve-cpu.h"
#include "pve-models.h"
#include "pve-nesting.h"
#include "pve-node.h"
#include "pve-root.h"
#include "pve-vms.h"
#include "util.h"

#define NONE ((const char *) NULL)

static void conf_parse(const char *text, NvPveConf *ret)
{
        ck_assert_int_eq(nv_pve_conf_parse(text, strlen(text), ret), 0);
}

START_TEST(test_conf_sections)
{
        _cleanup_(nv_pve_conf_done) NvPveConf c = {};
        const char *text = "#cpu: max\n"
                           "cpu: kvm64\n"
                           "name: vm\n"
                           "Upper: ignored\n"
                           "no colon here\n"
                           "cores:   4   \n"
                           "cores: 8\n"
                           "args:   -cpu host  \n"
                           "delete: name\n"
                           "\n"
                           "[pending]  \n"
                           "cpu: host\n"
                           "delete: !name;cores  balloon,,\n"
                           "[snap_1]\n"
                           "cpu: max\n"
                           "lock: snapshot\n"
                           "[special:cloudinit]\n"
                           "cpu: qemu64\n";

        conf_parse(text, &c);
        ck_assert_str_eq(nv_pve_conf_get(&c, "cpu"), "kvm64");
        ck_assert_str_eq(nv_pve_conf_get(&c, "cores"), "8");
        ck_assert_str_eq(nv_pve_conf_get(&c, "args"), "-cpu host");
        ck_assert_str_eq(nv_pve_conf_get(&c, "name"), "vm");
        ck_assert_ptr_null(nv_pve_conf_get(&c, "Upper"));
        ck_assert_ptr_null(nv_pve_conf_get(&c, "lock"));
        ck_assert_ptr_null(nv_pve_conf_get(&c, "delete"));

        /* [PENDING] (any case) applies; its delete removes; the main section's delete is void. */
        ck_assert_str_eq(nv_pve_conf_get_next(&c, "cpu"), "host");
        ck_assert_ptr_null(nv_pve_conf_get_next(&c, "name"));
        ck_assert_ptr_null(nv_pve_conf_get_next(&c, "cores"));
        ck_assert_str_eq(nv_pve_conf_get_next(&c, "args"), "-cpu host");
        ck_assert_uint_eq(strv_length(c.pending_delete), 3);
        ck_assert(strv_contains(c.pending_delete, "balloon"));
        ck_assert(nv_pve_conf_pending_changes(&c, "cpu"));
        ck_assert(!nv_pve_conf_pending_changes(&c, "args"));
        ck_assert(!nv_pve_conf_pending_changes(&c, "lock"));
}
END_TEST

START_TEST(test_conf_edge_cases)
{
        _cleanup_(nv_pve_conf_done) NvPveConf a = {}, b = {}, d = {};

        /* A second [PENDING] starts over; a delete wins over a pending value. */
        conf_parse("cpu: host\n[PENDING]\ncpu: max\n[PENDING]\ndelete: cpu\ncpu: qemu64\n", &a);
        ck_assert_ptr_null(nv_pve_conf_get_next(&a, "cpu"));
        ck_assert_uint_eq(a.n_pending, 1);

        /* No final newline, CR line ends, an empty value, a key with digits. */
        conf_parse("net0: virtio\r\ncpu:\nscsi10: local:1\r\nname: x", &b);
        ck_assert_str_eq(nv_pve_conf_get(&b, "net0"), "virtio");
        ck_assert_ptr_null(nv_pve_conf_get(&b, "cpu"));
        ck_assert_str_eq(nv_pve_conf_get(&b, "scsi10"), "local:1");
        ck_assert_str_eq(nv_pve_conf_get(&b, "name"), "x");

        /* An unknown section hides what follows; "[a]b" is no header. */
        conf_parse("[]\ncpu: host\n", &d);
        ck_assert_ptr_null(nv_pve_conf_get(&d, "cpu"));

        NvPveConf e = {};
        ck_assert_int_eq(nv_pve_conf_parse("cpu: host\0x", 11, &e), -EBADMSG);
}
END_TEST

static void cpu_edit(const char *in, const char *flag, char op, const char *type, const char *expect)
{
        _cleanup_(nv_pve_cpu_done) NvPveCpu c = {};
        _cleanup_free_ char *out = NULL;

        ck_assert_int_eq(nv_pve_cpu_parse(in, &c), 0);
        if (flag)
                ck_assert_int_eq(nv_pve_cpu_set_flag(&c, flag, op), 0);
        if (type)
                ck_assert_int_eq(nv_pve_cpu_set_type(&c, type), 0);
        ck_assert_int_eq(nv_pve_cpu_format(&c, &out), 0);
        ck_assert_msg(streq_ptr(out, expect), "%s: got %s, expected %s", strempty(in), strempty(out),
                strempty(expect));
}

START_TEST(test_cpu_edit)
{
        /* Untouched strings come back as written. */
        cpu_edit("host", NULL, 0, NULL, "host");
        cpu_edit("cputype=Skylake-Server,hidden=1,flags=+aes", NULL, 0, NULL,
                "cputype=Skylake-Server,hidden=1,flags=+aes");
        cpu_edit(" ,host,, phys-bits=host", NULL, 0, NULL, "host, phys-bits=host");

        /* The flag goes last in flags=, flags= stays where it was, other parts keep their order. */
        cpu_edit("EPYC-v4,flags=+aes;+pcid,hidden=1", "nested-virt", '+', NULL,
                "EPYC-v4,flags=+aes;+pcid;+nested-virt,hidden=1");
        cpu_edit("EPYC-v4,hidden=1", "nested-virt", '+', NULL, "EPYC-v4,hidden=1,flags=+nested-virt");
        cpu_edit("host,flags=-nested-virt", "nested-virt", '+', NULL, "host,flags=+nested-virt");
        cpu_edit("host,flags=-nested-virt;+aes;+nested-virt", "nested-virt", 0, NULL, "host,flags=+aes");
        cpu_edit("host,flags=+nested-virt,phys-bits=40", "nested-virt", 0, NULL, "host,phys-bits=40");
        cpu_edit("max", "nested-virt", '-', NULL, "max,flags=-nested-virt");

        /* The type changes in place, spelled as before; a new one goes first. */
        cpu_edit("hidden=1,cputype=kvm64,flags=+aes", NULL, 0, "host", "hidden=1,cputype=host,flags=+aes");
        cpu_edit("x86-64-v2-AES,flags=+nested-virt", NULL, 0, "host", "host,flags=+nested-virt");
        cpu_edit(NULL, NULL, 0, "host", "host");
        cpu_edit(NULL, "nested-virt", '+', "kvm64", "kvm64,flags=+nested-virt");
}
END_TEST

START_TEST(test_cpu_parse)
{
        static const char *const invalid[] = {
                "host,host",
                "host,cputype=max",
                "host,flags=",
                "host,=1",
                "host,flags=+aes;",
                "host,flags=aes",
                "host,flags=+a b",
                "host,flags=+",
                "host,hidden=1,hidden=0",
                "host,flags=+aes,flags=+pcid",
        };
        _cleanup_(nv_pve_cpu_done) NvPveCpu c = {};

        for (size_t i = 0; i < ELEMENTSOF(invalid); i++) {
                NvPveCpu x = {};
                ck_assert_msg(nv_pve_cpu_parse(invalid[i], &x) == -EBADMSG, "%s", invalid[i]);
        }

        ck_assert_int_eq(
                nv_pve_cpu_parse("flags=+aes;-nested-virt;+nested-virt,reported-model=host", &c), 0);
        ck_assert_ptr_null(c.cputype);
        ck_assert_str_eq(nv_pve_cpu_get(&c, "reported-model"), "host");
        ck_assert_int_eq(nv_pve_flags_op(c.flags, "nested-virt"), '+');
        ck_assert_int_eq(nv_pve_flags_op(c.flags, "aes"), '+');
        ck_assert_int_eq(nv_pve_flags_op(c.flags, "pcid"), 0);
        ck_assert_int_eq(nv_pve_flag_list_op("+vmx;-vmx;+svm", "vmx"), '-');
        ck_assert_int_eq(nv_pve_flag_list_op("+vmxx;+svm", "vmx"), 0);
        ck_assert_int_eq(nv_pve_flag_list_op(NULL, "vmx"), 0);
}
END_TEST

START_TEST(test_json)
{
        _cleanup_(nv_json_flat_done) NvJsonFlat j = {};
        const char *text = " {\"cpu\":\"host,flags=+nested-virt\", \"kvm\" : 0, \"x\": -1.5e3,\n"
                           "\"description\":\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\\\ \\/ \\n\\t\","
                           "\"meta\": {\"a\": [1, {\"b\": null}], \"c\": \"}\"}, \"lock\": null, "
                           "\"onboot\": true, \"e\": \"\"}\n";

        ck_assert_int_eq(nv_json_flat_parse(text, strlen(text), &j), 0);
        ck_assert_str_eq(nv_json_flat_get(&j, "cpu"), "host,flags=+nested-virt");
        ck_assert_str_eq(nv_json_flat_get(&j, "kvm"), "0");
        ck_assert_str_eq(nv_json_flat_get(&j, "x"), "-1.5e3");
        ck_assert_str_eq(
                nv_json_flat_get(&j, "description"), "caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\" \\ / \n\t");
        ck_assert_str_eq(nv_json_flat_get(&j, "onboot"), "true");
        ck_assert_str_eq(nv_json_flat_get(&j, "e"), "");
        ck_assert_ptr_null(nv_json_flat_get(&j, "meta"));
        ck_assert(nv_json_flat_has(&j, "meta"));
        ck_assert(nv_json_flat_has(&j, "lock"));
        ck_assert_ptr_null(nv_json_flat_get(&j, "lock"));
        ck_assert(!nv_json_flat_has(&j, "digest"));
        ck_assert_uint_eq(j.n_members, 8);

        NvJsonFlat e = {};
        ck_assert_int_eq(nv_json_flat_parse("{}", 2, &e), 0);
        ck_assert_uint_eq(e.n_members, 0);
}
END_TEST

START_TEST(test_json_invalid)
{
        static const char *const invalid[] = {
                "",
                "[]",
                "\"a\"",
                "{",
                "{\"a\"}",
                "{\"a\":}",
                "{\"a\":1,}",
                "{\"a\":1} x",
                "{\"a\":01}",
                "{\"a\":1.}",
                "{\"a\":\"\\ud800\"}",
                "{\"a\":\"\\udc00\"}",
                "{\"a\":\"\\u0000\"}",
                "{\"a\":\"\\x\"}",
                "{\"a\":\"tab\there\"}",
                "{\"a\":1,\"a\":2}",
                "{\"a\":tru}",
                "{\"a\":\"x}",
                "{\"a\":\"\\u12\"}",
                "{a:1}",
                "{\"a\":[1,]}",
        };

        for (size_t i = 0; i < ELEMENTSOF(invalid); i++) {
                NvJsonFlat j = {};
                ck_assert_msg(nv_json_flat_parse(invalid[i], strlen(invalid[i]), &j) == -EBADMSG, "%s",
                        invalid[i]);
        }

        /* Deeper nesting than the reader follows. */
        char deep[200] = "{\"a\":";
        for (size_t i = 0; i < 60; i++)
                strcat(deep, "[");
        NvJsonFlat j = {};
        ck_assert_int_eq(nv_json_flat_parse(deep, strlen(deep), &j), -EBADMSG);
}
END_TEST

START_TEST(test_models)
{
        _cleanup_(nv_pve_models_done) NvPveModels m = {};
        const char *text = "# comment\n"
                           "cpu-model: a\n"
                           "\tflags +vmx\n"
                           "    # indented comment\n"
                           "\tflags +svm\n"
                           "\treported-model   host  \n"
                           "\n"
                           "other-type: b\n"
                           "\tflags +vmx\n"
                           "\n"
                           "cpu-model: c\n"
                           "reported-model host\n"
                           "\thidden 1\n"
                           "cpu-model: a\n"
                           "\tflags -vmx\n";

        ck_assert_int_eq(nv_pve_models_parse(text, strlen(text), &m), 0);
        ck_assert_uint_eq(m.n_models, 2);
        ck_assert_str_eq(nv_pve_models_find(&m, "custom-a")->flags, "+vmx");
        ck_assert_str_eq(nv_pve_models_find(&m, "custom-a")->reported_model, "host");
        ck_assert_ptr_null(nv_pve_models_find(&m, "custom-b"));
        ck_assert_ptr_null(nv_pve_models_find(&m, "a"));
        /* Unindented lines are no properties of c, and no header either until a blank line ends
         * the section: the later "flags -vmx" is c's. */
        ck_assert_ptr_null(nv_pve_models_find(&m, "custom-c")->reported_model);
        ck_assert_str_eq(nv_pve_models_find(&m, "custom-c")->flags, "-vmx");
}
END_TEST

START_TEST(test_versions)
{
        static const struct {
                const char *a, *b;
                int sign;
        } cases[] = {
                { "9.0.27", "9.0.27", 0 },
                { "9.0.30", "9.0.27", 1 },
                { "9.0.9", "9.0.27", -1 },
                { "10.0.1", "9.0.27", 1 },
                { "8.4.1", "9.0.27", -1 },
                { "9.0.27~rc1", "9.0.27", -1 },
                { "9.0.27+pve1", "9.0.27", 1 },
                { "9.0.27a", "9.0.27", 1 },
                { "1:8.0", "9.0.27", 1 },
                { "9.0.27-1", "9.0.27", 1 },
                { "9.0.27-1", "9.0.27-2", -1 },
                { "09.0.027", "9.0.27", 0 },
                { "9.0", "9.0.27", -1 },
                { "9.0.27.1", "9.0.27", 1 },
                { "1.0a", "1.0+", -1 },
                { "1.0~~", "1.0~", -1 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                int r = nv_deb_version_compare(cases[i].a, cases[i].b);
                int s = (r > 0) - (r < 0);
                ck_assert_msg(s == cases[i].sign, "%s vs %s: %d", cases[i].a, cases[i].b, r);
                r = nv_deb_version_compare(cases[i].b, cases[i].a);
                ck_assert_msg(
                        ((r > 0) - (r < 0)) == -cases[i].sign, "%s vs %s reversed", cases[i].a, cases[i].b);
        }
}
END_TEST

START_TEST(test_dpkg_status)
{
        _cleanup_free_ char *v = NULL, *w = NULL;
        const char *status = "Package: qemu-server\n"
                             "Status: deinstall ok config-files\n"
                             "Version: 7.0.1\n"
                             "\n"
                             "Package: qemu-server-extra\n"
                             "Status: install ok installed\n"
                             "Version: 1.0\n"
                             "\n"
                             "Package: qemu-server\n"
                             "Description: a\n"
                             " Version: 0.1\n"
                             "Status: install ok installed\n"
                             "Version:  9.0.30 ";

        ck_assert_int_eq(nv_dpkg_status_version(status, "qemu-server", &v), 0);
        ck_assert_str_eq(v, "9.0.30");
        ck_assert_int_eq(nv_dpkg_status_version(status, "qemu-server-extra", &w), 0);
        ck_assert_str_eq(w, "1.0");
        char *x = NULL;
        ck_assert_int_eq(nv_dpkg_status_version(
                                 "Package: qemu-server\nStatus: deinstall ok config-files\nVersion: 7\n",
                                 "qemu-server", &x),
                -ENOENT);
        ck_assert_int_eq(nv_dpkg_status_version("", "qemu-server", &x), -ENOENT);
}
END_TEST

START_TEST(test_names)
{
        ck_assert(nv_pve_vmid_valid("100"));
        ck_assert(nv_pve_vmid_valid("999999999"));
        ck_assert(!nv_pve_vmid_valid("99"));
        ck_assert(!nv_pve_vmid_valid("0100"));
        ck_assert(!nv_pve_vmid_valid("1000000000"));
        ck_assert(!nv_pve_vmid_valid("100a"));
        ck_assert(!nv_pve_vmid_valid("-100"));
        ck_assert(!nv_pve_vmid_valid(""));
        ck_assert(!nv_pve_vmid_valid(NULL));
        ck_assert(nv_pve_node_name_valid("pve1"));
        ck_assert(nv_pve_node_name_valid("node-a"));
        ck_assert(!nv_pve_node_name_valid("-a"));
        ck_assert(!nv_pve_node_name_valid("a-"));
        ck_assert(!nv_pve_node_name_valid("a/b"));
        ck_assert(!nv_pve_node_name_valid("a.b"));
        ck_assert(!nv_pve_node_name_valid(""));
}
END_TEST

static void args_cpu(const char *args, const char *expect)
{
        _cleanup_free_ char *cpu = NULL;

        ck_assert_int_eq(nv_pve_args_cpu(args, &cpu), 0);
        ck_assert_msg(streq_ptr(cpu, expect), "%s: %s", strempty(args), strempty(cpu));
}

START_TEST(test_args)
{
        args_cpu(NULL, NONE);
        args_cpu("-smbios type=1", NONE);
        args_cpu("-cpu host", "host");
        args_cpu("-cpu host -cpu kvm64,+vmx", "kvm64,+vmx");
        args_cpu("--cpu 'Skylake-Server,+vmx' -S", "Skylake-Server,+vmx");
        args_cpu("-cpu \"max,-vmx\"", "max,-vmx");
        args_cpu("-cpu max\\,-vmx", "max,-vmx");
        args_cpu("-cpu 'unterminated", NONE);
        args_cpu("-cpu", NONE);
}
END_TEST

typedef struct VmExpect {
        const char *id, *name, *cpu, *cpu_now, *lock;
        NvVmNesting next;
        NvVmSource by;
        bool requires, pending, kvm, x86, running;
        pid_t pid;
} VmExpect;

#define E NV_VM_NESTING_EXPOSED
#define H NV_VM_NESTING_HIDDEN
#define U NV_VM_NESTING_UNKNOWN

static const VmExpect intel_vms[] = {
        { "100", "ci-runner", "host", NONE, NONE, E, NV_VM_SOURCE_HOST_MODEL, false, false, true, true, true,
                4242 },
        { "101", "flag-vm", "x86-64-v2-AES,flags=+nested-virt;+aes", NONE, NONE, E, NV_VM_SOURCE_FLAG, true,
                false, true, true },
        { "102", "default-cpu", NONE, NONE, NONE, H, NV_VM_SOURCE_NONE, false, false, true, true },
        { "103", "host-hidden", "host,flags=-nested-virt,hidden=1", NONE, NONE, H, NV_VM_SOURCE_FLAG, false,
                false, true, true },
        { "104", "max-vm", "max", NONE, NONE, E, NV_VM_SOURCE_HOST_MODEL, false, false, true, true },
        { "105", "max-flag", "cputype=max,flags=+nested-virt", NONE, NONE, E, NV_VM_SOURCE_FLAG, true, false,
                true, true },
        { "106", "custom-nested", "custom-nested", NONE, NONE, E, NV_VM_SOURCE_CUSTOM_MODEL, true, false,
                true, true },
        { "107", "custom-passthru", "custom-passthru,phys-bits=host", NONE, NONE, E, NV_VM_SOURCE_HOST_MODEL,
                false, false, true, true },
        { "108", "custom-missing", "custom-missing", NONE, NONE, U, NV_VM_SOURCE_CUSTOM_MODEL, false, false,
                true, true },
        { "109", "custom-plain-flag", "custom-plain,flags=+nested-virt", NONE, NONE, E, NV_VM_SOURCE_FLAG,
                true, false, true, true },
        { "110", "args-hide", "host", NONE, NONE, H, NV_VM_SOURCE_RAW_ARGS, false, false, true, true },
        { "111", "args-expose", "kvm64", NONE, NONE, E, NV_VM_SOURCE_RAW_ARGS, true, false, true, true },
        { "112", "pending-host", "host", "kvm64", NONE, E, NV_VM_SOURCE_HOST_MODEL, false, true, true,
                true },
        { "113", "pending-delete", NONE, "host", NONE, H, NV_VM_SOURCE_NONE, false, true, true, true },
        { "114", "in-backup", "host", NONE, "backup", E, NV_VM_SOURCE_HOST_MODEL, false, false, true, true },
        { "115", "arm-guest", "host", NONE, NONE, U, NV_VM_SOURCE_NOT_X86, false, false, true, false },
        { "116", "tcg-guest", "kvm64,flags=+nested-virt", NONE, NONE, E, NV_VM_SOURCE_FLAG, false, false,
                false, true },
        { "117", "cloudinit-snap", "qemu64", NONE, NONE, H, NV_VM_SOURCE_NONE, false, false, true, true },
        { "118", "raw-vm-flag", "host,flags=+vmx", NONE, NONE, U, NV_VM_SOURCE_FLAG, false, false, true,
                true },
        { "119", "custom-hidevmx", "custom-hidevmx", NONE, NONE, H, NV_VM_SOURCE_CUSTOM_MODEL, false, false,
                true, true },
        { "120", "pending-args", "host", NONE, NONE, H, NV_VM_SOURCE_RAW_ARGS, false, true, true, true },
};

static void check_vm(const NvVmConfig *c, const VmExpect *e)
{
        ck_assert_msg(streq_ptr(c->id, e->id), "id %s, expected %s", c->id, e->id);
        ck_assert_msg(streq_ptr(c->name, e->name), "%s: name %s", e->id, strempty(c->name));
        ck_assert_msg(streq_ptr(c->cpu, e->cpu), "%s: cpu %s", e->id, strempty(c->cpu));
        ck_assert_msg(streq_ptr(c->cpu_now, e->cpu_now), "%s: cpu_now %s", e->id, strempty(c->cpu_now));
        ck_assert_msg(streq_ptr(c->lock, e->lock), "%s: lock %s", e->id, strempty(c->lock));
        ck_assert_msg(c->next == e->next, "%s: next %s, expected %s", e->id,
                nv_vm_nesting_to_string(c->next), nv_vm_nesting_to_string(e->next));
        ck_assert_msg(c->next_by == e->by, "%s: by %s, expected %s", e->id,
                nv_vm_source_to_string(c->next_by), nv_vm_source_to_string(e->by));
        ck_assert_msg(c->requires == e->requires, "%s: requires %d", e->id, c->requires);
        ck_assert_msg(c->pending_change == e->pending, "%s: pending %d", e->id, c->pending_change);
        ck_assert_msg(c->kvm == e->kvm, "%s: kvm %d", e->id, c->kvm);
        ck_assert_msg(c->x86 == e->x86, "%s: x86 %d", e->id, c->x86);
        ck_assert_msg(c->running == e->running, "%s: running %d", e->id, c->running);
        ck_assert_msg(c->pid == e->pid, "%s: pid %d", e->id, (int) c->pid);
}

static void free_configs(NvVmConfig *l, size_t n)
{
        for (size_t i = 0; i < n; i++)
                nv_vm_config_done(l + i);
        free(l);
}

START_TEST(test_read_vms_intel)
{
        _cleanup_(nv_pve_node_done) NvPveNode node = {};
        NvFixture *f = pve_root_new("9.0.30");
        NvVmConfig *l = NULL;
        size_t n = 0;

        ck_assert_int_eq(nv_pve_node_read(&node), 0);
        ck_assert(node.present);
        ck_assert_str_eq(node.node, PVE_NODE);
        ck_assert_str_eq(node.qemu_server_version, "9.0.30");
        ck_assert(node.nested_virt);

        ck_assert_int_eq(nv_pve_read_vms(&node, NV_VENDOR_INTEL, &l, &n), 0);
        ck_assert_uint_eq(n, ELEMENTSOF(intel_vms));
        for (size_t i = 0; i < n; i++)
                check_vm(l + i, intel_vms + i);
        free_configs(l, n);
        nv_fixture_free(f);
}
END_TEST

static void check_one(const NvPveNode *node, NvVendor vendor, const char *vmid, NvVmNesting next,
        NvVmSource by, bool requires)
{
        _cleanup_(nv_vm_config_done) NvVmConfig c = {};

        ck_assert_int_eq(nv_pve_read_vm(node, vendor, vmid, &c), 0);
        ck_assert_msg(c.next == next && c.next_by == by && c.requires == requires,
                "%s: %s by %s, requires %d", vmid, nv_vm_nesting_to_string(c.next),
                nv_vm_source_to_string(c.next_by), c.requires);
}

START_TEST(test_read_vm_amd_and_old)
{
        _cleanup_(nv_pve_node_done) NvPveNode node = {}, old = {};
        NvFixture *f = pve_root_new("9.0.30");
        NvVmConfig c = {};

        ck_assert_int_eq(nv_pve_node_read(&node), 0);
        /* "+svm" in the model counts on AMD, "-svm" hides there; nested-virt is either. */
        check_one(&node, NV_VENDOR_AMD, "106", E, NV_VM_SOURCE_CUSTOM_MODEL, true);
        check_one(&node, NV_VENDOR_AMD, "119", H, NV_VM_SOURCE_CUSTOM_MODEL, false);
        check_one(&node, NV_VENDOR_AMD, "101", E, NV_VM_SOURCE_FLAG, true);
        /* args' "-cpu Skylake-Server,+vmx,enforce" asks for vmx, not AMD's svm. */
        check_one(&node, NV_VENDOR_AMD, "111", E, NV_VM_SOURCE_RAW_ARGS, false);

        ck_assert_int_eq(nv_pve_read_vm(&node, NV_VENDOR_INTEL, "999", &c), -ENOENT);
        ck_assert_int_eq(nv_pve_read_vm(&node, NV_VENDOR_INTEL, "99", &c), -EINVAL);
        ck_assert_int_eq(nv_pve_read_vm(&node, NV_VENDOR_INTEL, "../100", &c), -EINVAL);
        nv_fixture_free(f);

        /* qemu-server 8.4.1 refuses nested-virt: such a VM does not start. */
        f = pve_root_new("8.4.1");
        ck_assert_int_eq(nv_pve_node_read(&old), 0);
        ck_assert(!old.nested_virt);
        check_one(&old, NV_VENDOR_INTEL, "101", U, NV_VM_SOURCE_FLAG, false);
        check_one(&old, NV_VENDOR_INTEL, "100", E, NV_VM_SOURCE_HOST_MODEL, false);
        nv_fixture_free(f);
}
END_TEST

START_TEST(test_node)
{
        _cleanup_(nv_pve_node_done) NvPveNode a = {}, b = {};
        NvVmConfig *l = NULL;
        size_t n = 1;
        NvFixture *f = NULL;

        /* No /etc/pve/qemu-server: no node, no VMs. */
        ck_assert_int_eq(nv_fixture_new(NULL, &f), 0);
        ck_assert_int_eq(nv_pve_node_read(&a), 0);
        ck_assert(!a.present);
        ck_assert_ptr_null(a.node);
        ck_assert_int_eq(nv_pve_read_vms(&a, NV_VENDOR_INTEL, &l, &n), 0);
        ck_assert_uint_eq(n, 0);
        ck_assert_ptr_null(l);

        /* Without the local link the host name names the node; without dpkg no version. */
        ck_assert_int_eq(nv_fixture_write(f, "/etc/pve/qemu-server/100.conf", "cpu: host\n"), 0);
        ck_assert_int_eq(nv_pve_node_read(&b), 0);
        ck_assert(b.present);
        ck_assert_ptr_nonnull(b.node);
        ck_assert_ptr_null(strchr(b.node, '.'));
        ck_assert_ptr_null(b.qemu_server_version);
        ck_assert(!b.nested_virt);
        nv_fixture_free(f);
}
END_TEST

static Suite *pve_parse_suite(void)
{
        Suite *s = suite_create("pve-parse");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_conf_sections);
        tcase_add_test(tc, test_conf_edge_cases);
        tcase_add_test(tc, test_cpu_edit);
        tcase_add_test(tc, test_cpu_parse);
        tcase_add_test(tc, test_json);
        tcase_add_test(tc, test_json_invalid);
        tcase_add_test(tc, test_models);
        tcase_add_test(tc, test_versions);
        tcase_add_test(tc, test_dpkg_status);
        tcase_add_test(tc, test_names);
        tcase_add_test(tc, test_args);
        tcase_add_test(tc, test_read_vms_intel);
        tcase_add_test(tc, test_read_vm_amd_and_old);
        tcase_add_test(tc, test_node);
        tcase_set_timeout(tc, 60);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return nv_fixture_run_suite(pve_parse_suite());
}
