/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nv_module_reload() and nv_reload_recover() on fixture hosts. The real libkmod runs under the
 * test preload library (tests/preload/nv-preload.c), which shows it the fixture's /sys/module and
 * /proc, traps the module syscalls, injects faults from $ROOT/.nv-faults and logs every trapped
 * call to $ROOT/.nv-trap.log.
 *
 * The invariant every case checks: afterwards the module is loaded with a known value, equal to
 * the old one unless the change succeeded, and no reload record is left once the host is whole.
 */
#include <check.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fixture.h"
#include "host-path.h"
#include "kvm-module.h"
#include "module-reload.h"
#include "util.h"

#define E NV_NESTED_ENABLED
#define D NV_NESTED_DISABLED
#define U NV_NESTED_UNKNOWN

typedef struct Vendor {
        const char *host;
        const char *module;
        const char *on; /* parameters/nested when enabled: int for kvm_amd, bool for kvm_intel */
        const char *off;
} Vendor;

static const Vendor vendors[] = {
        { "amd-host", "kvm_amd", "1", "0" },
        { "intel-host", "kvm_intel", "Y", "N" },
};

/* ---- helpers ---- */

/* Replaces every '@' in template with module. */
static char *expand(const char *template, const char *module)
{
        size_t n = 0, l = strlen(module);
        char *s, *p;

        for (const char *t = template; *t; t++)
                n += *t == '@' ? l : 1;
        s = p = malloc(n + 1);
        ck_assert_ptr_nonnull(s);
        for (const char *t = template; *t; t++) {
                if (*t == '@') {
                        memcpy(p, module, l);
                        p += l;
                } else
                        *p++ = *t;
        }
        *p = 0;
        return s;
}

/* A host file below the fixture root; NULL when it does not exist. */
static char *read_host(const char *host_path)
{
        char *s = NULL;
        int r = nv_host_read_file(host_path, &s, NULL);

        if (r == -ENOENT || r == -ENOTDIR)
                return NULL;
        ck_assert_msg(r >= 0, "reading %s: %s", host_path, strerror(-r));
        return s;
}

static bool host_exists(const char *host_path)
{
        _cleanup_free_ char *p = nv_host_path(host_path);

        ck_assert_ptr_nonnull(p);
        return access(p, F_OK) >= 0;
}

/* Everything the preload library trapped so far ("" when nothing). */
static char *trap_log(void)
{
        char *s = read_host("/.nv-trap.log");
        return s ?: strdup("");
}

static void assert_trap_log(const char *template, const char *module)
{
        _cleanup_free_ char *want = expand(template, module), *have = trap_log();

        ck_assert_msg(streq(want, have), "trap log:\n%s\nexpected:\n%s", have, want);
}

static void set_faults(NvFixture *f, const char *template, const char *module)
{
        _cleanup_free_ char *rules = expand(template, module);

        ck_assert_int_eq(nv_fixture_write(f, "/.nv-faults", rules), 0);
}

static bool module_loaded(const char *module)
{
        _cleanup_free_ char *p = NULL, *state = NULL;

        ck_assert_int_ge(asprintf(&p, "/sys/module/%s/initstate", module), 0);
        state = read_host(p);
        return state && streq(state, "live\n");
}

/* The raw sysfs value without its newline; NULL when the module has no such file. */
static char *live_raw(const char *module)
{
        _cleanup_free_ char *p = NULL;
        char *v;

        ck_assert_int_ge(asprintf(&p, "/sys/module/%s/parameters/nested", module), 0);
        v = read_host(p);
        return v ? strstrip_end(v) : NULL;
}

/* The live value, checked to be spelled as the module spells it. */
static NvNested live_value(const Vendor *v)
{
        _cleanup_free_ char *raw = live_raw(v->module);

        if (!raw)
                return U;
        if (streq(raw, v->on))
                return E;
        if (streq(raw, v->off))
                return D;
        ck_abort_msg("%s: parameters/nested reads \"%s\"", v->module, raw);
        return U;
}

static NvFixture *setup_host(const char *host)
{
        NvFixture *f = NULL;
        int r = nv_fixture_new(host, &f);

        ck_assert_msg(r >= 0, "fixture %s: %s", host, strerror(-r));
        return f;
}

/* A vendor host with the module free to unload (intel-host runs VMs: refcnt 3). */
static NvFixture *setup(const Vendor *v)
{
        _cleanup_free_ char *refcnt = NULL;
        NvFixture *f = setup_host(v->host);

        ck_assert_int_ge(asprintf(&refcnt, "/sys/module/%s/refcnt", v->module), 0);
        ck_assert_int_eq(nv_fixture_write(f, refcnt, "0\n"), 0);
        ck_assert(module_loaded(v->module));
        return f;
}

/* The invariant after a reload from old towards want that did not leave the module unloaded. */
static void assert_invariant(const Vendor *v, NvNested old, NvNested want, const NvReloadResult *res)
{
        NvNested now;

        ck_assert_msg(module_loaded(v->module), "%s is not loaded", v->module);
        now = live_value(v);
        ck_assert_msg(now == E || now == D, "%s: nested is %s", v->module, nv_nested_to_string(now));
        ck_assert_int_eq(now, res->status == NV_RELOAD_DONE ? want : old);
        ck_assert_int_eq(res->before, old);
        ck_assert_int_eq(res->after, now);
        ck_assert(res->was_loaded);
        ck_assert_msg(!host_exists(NV_RELOAD_INTENT_PATH), "the reload record was left");
}

/* ---- the happy path ---- */

START_TEST(test_toggle)
{
        const Vendor *v = &vendors[_i];
        NvFixture *f = setup(v);
        NvReloadResult res;

        ck_assert_int_eq(live_value(v), E);

        ck_assert_int_eq(nv_module_reload(v->module, D, &res), 0);
        ck_assert_int_eq(res.status, NV_RELOAD_DONE);
        ck_assert_int_eq(res.error, 0);
        ck_assert_ptr_null(res.failed_step);
        ck_assert(!res.rolled_back);
        assert_invariant(v, E, D, &res);
        ck_assert_int_eq(res.after, D);
        /* Always a numeric value on the load line, whatever the parameter's type. */
        assert_trap_log("unload @ -> 0\n"
                        "load @ nested=0 -> 0\n",
                v->module);

        ck_assert_int_eq(nv_module_reload(v->module, E, &res), 0);
        ck_assert_int_eq(res.status, NV_RELOAD_DONE);
        assert_invariant(v, D, E, &res);
        ck_assert_int_eq(res.after, E);
        assert_trap_log("unload @ -> 0\n"
                        "load @ nested=0 -> 0\n"
                        "unload @ -> 0\n"
                        "load @ nested=1 -> 0\n",
                v->module);

        /* kvm.ko stayed, and the vendor module is its holder again. */
        ck_assert(module_loaded("kvm"));

        ck_assert_int_eq(nv_module_reload(v->module, U, &res), -EINVAL);
        ck_assert_int_eq(nv_module_reload(v->module, NV_NESTED_INVALID, &res), -EINVAL);
        nv_fixture_free(f);
}
END_TEST

START_TEST(test_same_value)
{
        /* Asking for the value it already has still reloads (the daemon's no-op check is
         * above this layer) and ends with the same value. */
        const Vendor *v = &vendors[_i];
        NvFixture *f = setup(v);
        NvReloadResult res;

        ck_assert_int_eq(nv_module_reload(v->module, E, &res), 0);
        ck_assert_int_eq(res.status, NV_RELOAD_DONE);
        assert_invariant(v, E, E, &res);
        assert_trap_log("unload @ -> 0\n"
                        "load @ nested=1 -> 0\n",
                v->module);
        nv_fixture_free(f);
}
END_TEST

START_TEST(test_in_use)
{
        const Vendor *v = &vendors[_i];
        _cleanup_free_ char *refcnt = NULL, *log = NULL;
        NvFixture *f = setup(v);
        NvReloadResult res;

        ck_assert_int_ge(asprintf(&refcnt, "/sys/module/%s/refcnt", v->module), 0);
        ck_assert_int_eq(nv_fixture_write(f, refcnt, "1\n"), 0);

        ck_assert_int_eq(nv_module_reload(v->module, D, &res), 0);
        ck_assert_int_eq(res.status, NV_RELOAD_IN_USE);
        assert_invariant(v, E, D, &res);
        log = trap_log();
        ck_assert_msg(!strstr(log, "unload"), "an unload was tried: %s", log);
        ck_assert_str_eq(log, "");
        nv_fixture_free(f);
}
END_TEST

/* ---- a fault at every step ---- */

typedef enum Setup {
        SETUP_RULES, /* only the fault rules */
        SETUP_MODULES_DISABLED, /* kernel.modules_disabled=1 */
        SETUP_RUN_BLOCKED, /* /run/nestvirt is a file: the record cannot be written */
} Setup;

typedef struct Fault {
        const char *name;
        Setup setup;
        const char *rules; /* '@' stands for the module */
        NvReloadStatus status;
        int error;
        const char *failed_step;
        bool rolled_back;
        const char *log; /* the whole trap log afterwards */
} Fault;

static const Fault faults[] = {
        {
                .name = "unload EIO",
                .rules = "unload @ EIO\n",
                .status = NV_RELOAD_UNLOAD_FAILED,
                .error = -EIO,
                .failed_step = "unload",
                .log = "unload @ -> EIO\n",
        },
        {
                .name = "unload EAGAIN",
                .rules = "unload @ EAGAIN\n",
                .status = NV_RELOAD_IN_USE,
                .error = -EAGAIN,
                .failed_step = "unload",
                .log = "unload @ -> EAGAIN\n",
        },
        {
                .name = "unload EBUSY",
                .rules = "unload @ EBUSY\n",
                .status = NV_RELOAD_IN_USE,
                .error = -EBUSY,
                .failed_step = "unload",
                .log = "unload @ -> EBUSY\n",
        },
        {
                .name = "load EIO once",
                .rules = "load @ EIO 1\n",
                .status = NV_RELOAD_FAILED,
                .error = -EIO,
                .failed_step = "load",
                .rolled_back = true,
                .log = "unload @ -> 0\n"
                       "load @ nested=0 -> EIO\n"
                       "load @ nested=1 -> 0\n",
        },
        {
                .name = "load-wrong once",
                .rules = "load-wrong @ - 1\n",
                .status = NV_RELOAD_FAILED,
                .error = -EIO,
                .failed_step = "verify",
                .rolled_back = true,
                /* The wrong module is taken out again before the old value is loaded. */
                .log = "unload @ -> 0\n"
                       "load @ nested=0 -> 0\n"
                       "unload @ -> 0\n"
                       "load @ nested=1 -> 0\n",
        },
        {
                .name = "modules_disabled",
                .setup = SETUP_MODULES_DISABLED,
                .status = NV_RELOAD_MODULES_DISABLED,
                .log = "",
        },
        {
                .name = "record",
                .setup = SETUP_RUN_BLOCKED,
                .status = NV_RELOAD_UNLOAD_FAILED,
                .error = -ENOTDIR,
                .failed_step = "record",
                .log = "",
        },
};

START_TEST(test_fault)
{
        const Vendor *v = &vendors[_i / (int) ELEMENTSOF(faults)];
        const Fault *t = &faults[_i % (int) ELEMENTSOF(faults)];
        NvFixture *f = setup(v);
        NvReloadResult res;

        switch (t->setup) {
        case SETUP_RULES:
                set_faults(f, t->rules, v->module);
                break;
        case SETUP_MODULES_DISABLED:
                ck_assert_int_eq(nv_fixture_write(f, "/proc/sys/kernel/modules_disabled", "1\n"), 0);
                break;
        case SETUP_RUN_BLOCKED:
                ck_assert_int_eq(nv_fixture_write(f, "/run/nestvirt", "not a directory\n"), 0);
                break;
        }

        ck_assert_int_eq(nv_module_reload(v->module, D, &res), 0);
        ck_assert_msg(res.status == t->status, "%s on %s: status %d, expected %d", t->name, v->host,
                res.status, t->status);
        ck_assert_int_eq(res.error, t->error);
        ck_assert_msg(streq_ptr(res.failed_step, t->failed_step), "%s: failed_step %s", t->name,
                strempty(res.failed_step));
        ck_assert_int_eq(res.rolled_back, t->rolled_back);
        ck_assert_int_eq(res.rollback_error, 0);
        assert_invariant(v, E, D, &res);
        assert_trap_log(t->log, v->module);

        /* Nothing for a recovery to do (with /run/nestvirt a file, reading the record fails). */
        if (t->setup != SETUP_RUN_BLOCKED) {
                ck_assert_int_eq(nv_reload_recover(NULL, NULL), 0);
                assert_trap_log(t->log, v->module);
        }
        nv_fixture_free(f);
}
END_TEST

START_TEST(test_rollback_fails_then_recover)
{
        const Vendor *v = &vendors[_i];
        _cleanup_free_ char *record = NULL, *want_record = NULL, *module = NULL;
        NvFixture *f = setup(v);
        NvReloadResult res;
        NvNested value = U;

        set_faults(f, "load @ EIO 2\n", v->module);
        ck_assert_int_eq(nv_module_reload(v->module, D, &res), 0);
        ck_assert_int_eq(res.status, NV_RELOAD_FAILED);
        ck_assert_int_eq(res.error, -EIO);
        ck_assert_str_eq(res.failed_step, "load");
        ck_assert(!res.rolled_back);
        ck_assert_int_eq(res.rollback_error, -EIO);
        ck_assert(res.was_loaded);
        ck_assert_int_eq(res.before, E);
        ck_assert_int_eq(res.after, U);
        ck_assert(!module_loaded(v->module));
        assert_trap_log("unload @ -> 0\n"
                        "load @ nested=0 -> EIO\n"
                        "load @ nested=1 -> EIO\n",
                v->module);

        /* The record stays for the next start. */
        record = read_host(NV_RELOAD_INTENT_PATH);
        ck_assert_ptr_nonnull(record);
        want_record = expand("module=@\nprevious=enabled\nrequested=disabled\n", v->module);
        ck_assert_str_eq(record, want_record);

        /* Still failing: the record stays. */
        set_faults(f, "load @ EIO 1\n", v->module);
        ck_assert_int_eq(nv_reload_recover(&module, &value), -EIO);
        ck_assert(host_exists(NV_RELOAD_INTENT_PATH));
        ck_assert(!module_loaded(v->module));

        ck_assert_int_eq(nv_fixture_remove(f, "/.nv-faults"), 0);
        ck_assert_int_eq(nv_reload_recover(&module, &value), 1);
        ck_assert_str_eq(module, v->module);
        ck_assert_int_eq(value, E);
        ck_assert(module_loaded(v->module));
        ck_assert_int_eq(live_value(v), E);
        ck_assert(!host_exists(NV_RELOAD_INTENT_PATH));
        assert_trap_log("unload @ -> 0\n"
                        "load @ nested=0 -> EIO\n"
                        "load @ nested=1 -> EIO\n"
                        "load @ nested=1 -> EIO\n"
                        "load @ nested=1 -> 0\n",
                v->module);

        ck_assert_int_eq(nv_reload_recover(NULL, NULL), 0);
        nv_fixture_free(f);
}
END_TEST

/* ---- a crash halfway ---- */

/* Runs the reload in a child that the preload library kills (exit 99) after op. */
static int reload_in_child(const Vendor *v, NvNested want)
{
        int status;
        pid_t pid;

        fflush(NULL);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                NvReloadResult res;
                int r = nv_module_reload(v->module, want, &res);
                _exit(r < 0 ? 2 : 0);
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status), "child died with status %d", status);
        return WEXITSTATUS(status);
}

START_TEST(test_crash_after_unload)
{
        const Vendor *v = &vendors[_i];
        _cleanup_free_ char *record = NULL, *want_record = NULL, *module = NULL;
        NvFixture *f = setup(v);
        NvNested value = U;

        set_faults(f, "crash-after unload @ 1\n", v->module);
        ck_assert_int_eq(reload_in_child(v, D), 99);

        ck_assert(!module_loaded(v->module));
        record = read_host(NV_RELOAD_INTENT_PATH);
        ck_assert_ptr_nonnull(record);
        want_record = expand("module=@\nprevious=enabled\nrequested=disabled\n", v->module);
        ck_assert_str_eq(record, want_record);
        assert_trap_log("unload @ -> 0\n", v->module);

        /* The next start of the daemon. */
        ck_assert_int_eq(nv_reload_recover(&module, &value), 1);
        ck_assert_str_eq(module, v->module);
        ck_assert_int_eq(value, E);
        ck_assert(module_loaded(v->module));
        ck_assert_int_eq(live_value(v), E);
        ck_assert(!host_exists(NV_RELOAD_INTENT_PATH));
        assert_trap_log("unload @ -> 0\n"
                        "load @ nested=1 -> 0\n",
                v->module);

        ck_assert_int_eq(nv_reload_recover(NULL, NULL), 0);
        nv_fixture_free(f);
}
END_TEST

START_TEST(test_crash_after_load)
{
        /* The new module is in, only the record is left: recovery drops it and changes nothing. */
        const Vendor *v = &vendors[_i];
        NvFixture *f = setup(v);

        set_faults(f, "crash-after load @ 1\n", v->module);
        ck_assert_int_eq(reload_in_child(v, D), 99);
        ck_assert(module_loaded(v->module));
        ck_assert_int_eq(live_value(v), D);
        ck_assert(host_exists(NV_RELOAD_INTENT_PATH));

        ck_assert_int_eq(nv_reload_recover(NULL, NULL), 0);
        ck_assert(!host_exists(NV_RELOAD_INTENT_PATH));
        ck_assert_int_eq(live_value(v), D);
        assert_trap_log("unload @ -> 0\n"
                        "load @ nested=0 -> 0\n",
                v->module);
        nv_fixture_free(f);
}
END_TEST

START_TEST(test_recover_garbage_record)
{
        const Vendor *v = &vendors[0];
        NvFixture *f = setup(v);

        /* Nothing to recover. */
        ck_assert_int_eq(nv_reload_recover(NULL, NULL), 0);

        /* A record naming something else is dropped, never acted on. */
        ck_assert_int_eq(nv_fixture_write(f, NV_RELOAD_INTENT_PATH, "module=ext4\nprevious=enabled\n"), 0);
        ck_assert_int_eq(nv_reload_recover(NULL, NULL), -EBADMSG);
        ck_assert(!host_exists(NV_RELOAD_INTENT_PATH));

        ck_assert_int_eq(nv_fixture_write(f, NV_RELOAD_INTENT_PATH, "garbage"), 0);
        ck_assert_int_eq(nv_reload_recover(NULL, NULL), -EBADMSG);
        ck_assert(!host_exists(NV_RELOAD_INTENT_PATH));
        assert_trap_log("", v->module);
        nv_fixture_free(f);
}
END_TEST

/* ---- the administrator's options ---- */

START_TEST(test_admin_options_kept)
{
        const Vendor *v = &vendors[0]; /* kvm_amd: nested=Y would make the load fail */
        NvFixture *f = setup(v);
        NvReloadResult res;

        ck_assert_str_eq(v->module, "kvm_amd");
        ck_assert_int_eq(
                nv_fixture_write(f, "/etc/modprobe.d/x.conf", "options kvm_amd npt=1 nested=Y\n"), 0);

        ck_assert_int_eq(nv_module_reload(v->module, D, &res), 0);
        ck_assert_int_eq(res.status, NV_RELOAD_DONE);
        assert_invariant(v, E, D, &res);
        assert_trap_log("unload @ -> 0\n"
                        "load @ npt=1 nested=0 -> 0\n",
                v->module);

        /* The rollback keeps them too. */
        set_faults(f, "load @ EIO 1\n", v->module);
        ck_assert_int_eq(nv_module_reload(v->module, E, &res), 0);
        ck_assert_int_eq(res.status, NV_RELOAD_FAILED);
        ck_assert(res.rolled_back);
        assert_invariant(v, D, E, &res);
        assert_trap_log("unload @ -> 0\n"
                        "load @ npt=1 nested=0 -> 0\n"
                        "unload @ -> 0\n"
                        "load @ npt=1 nested=1 -> EIO\n"
                        "load @ npt=1 nested=0 -> 0\n",
                v->module);
        nv_fixture_free(f);
}
END_TEST

/* ---- other module states ---- */

START_TEST(test_not_loaded)
{
        const Vendor *v = &vendors[1];
        NvFixture *f = setup_host("intel-not-loaded");
        NvReloadResult res;

        ck_assert(!module_loaded("kvm"));
        ck_assert(!module_loaded("kvm_intel"));

        /* etc/modprobe.d/qemu-system-x86.conf says nested=1; the request wins. */
        ck_assert_int_eq(nv_module_reload("kvm_intel", D, &res), 0);
        ck_assert_int_eq(res.status, NV_RELOAD_DONE);
        ck_assert(!res.was_loaded);
        ck_assert_int_eq(res.before, U);
        ck_assert_int_eq(res.after, D);
        ck_assert(module_loaded("kvm"));
        ck_assert(module_loaded("kvm_intel"));
        ck_assert_int_eq(live_value(v), D);
        ck_assert(!host_exists(NV_RELOAD_INTENT_PATH));
        /* kvm first, as a dependency, with no options. */
        assert_trap_log("load kvm  -> 0\n"
                        "load kvm_intel nested=0 -> 0\n",
                "");
        nv_fixture_free(f);
}
END_TEST

START_TEST(test_not_loaded_enable)
{
        const Vendor *v = &vendors[1];
        NvFixture *f = setup_host("intel-not-loaded");
        NvReloadResult res;

        ck_assert_int_eq(nv_module_reload("kvm_intel", E, &res), 0);
        ck_assert_int_eq(res.status, NV_RELOAD_DONE);
        ck_assert(!res.was_loaded);
        ck_assert_int_eq(res.after, E);
        ck_assert_int_eq(live_value(v), E);
        assert_trap_log("load kvm  -> 0\n"
                        "load kvm_intel nested=1 -> 0\n",
                "");

        /* Now loaded: the next change is a reload. */
        ck_assert_int_eq(nv_module_reload("kvm_intel", D, &res), 0);
        ck_assert_int_eq(res.status, NV_RELOAD_DONE);
        assert_invariant(v, E, D, &res);
        assert_trap_log("load kvm  -> 0\n"
                        "load kvm_intel nested=1 -> 0\n"
                        "unload kvm_intel -> 0\n"
                        "load kvm_intel nested=0 -> 0\n",
                "");
        nv_fixture_free(f);
}
END_TEST

START_TEST(test_not_loaded_load_fails)
{
        /* Nothing to roll back to: it stays unloaded, and no record is written for it. */
        NvFixture *f = setup_host("intel-not-loaded");
        NvReloadResult res;

        set_faults(f, "load kvm_intel EIO\n", "");
        ck_assert_int_eq(nv_module_reload("kvm_intel", E, &res), 0);
        ck_assert_int_eq(res.status, NV_RELOAD_FAILED);
        ck_assert_int_eq(res.error, -EIO);
        ck_assert_str_eq(res.failed_step, "load");
        ck_assert(!res.was_loaded);
        ck_assert(!res.rolled_back);
        ck_assert_int_eq(res.after, U);
        ck_assert(!module_loaded("kvm_intel"));
        ck_assert(!host_exists(NV_RELOAD_INTENT_PATH));
        ck_assert_int_eq(nv_reload_recover(NULL, NULL), 0);
        nv_fixture_free(f);
}
END_TEST

START_TEST(test_builtin)
{
        NvFixture *f = setup_host("intel-builtin");
        NvReloadResult res;

        for (NvNested want = D; want <= E; want++) {
                ck_assert_int_eq(nv_module_reload("kvm_intel", want, &res), 0);
                ck_assert_int_eq(res.status, NV_RELOAD_BUILTIN);
                ck_assert(!res.was_loaded);
                ck_assert_int_eq(res.before, E);
                ck_assert_int_eq(res.after, E);
        }
        assert_trap_log("", "");
        ck_assert(!host_exists(NV_RELOAD_INTENT_PATH));
        nv_fixture_free(f);
}
END_TEST

START_TEST(test_unavailable)
{
        NvFixture *f = setup_host("amd-unavailable");
        NvReloadResult res;

        ck_assert_int_eq(nv_module_reload("kvm_amd", E, &res), 0);
        ck_assert_int_eq(res.status, NV_RELOAD_UNAVAILABLE);
        ck_assert(!res.was_loaded);
        ck_assert_int_eq(res.after, U);
        assert_trap_log("", "");
        nv_fixture_free(f);
}
END_TEST

START_TEST(test_describe)
{
        /* Every status has a text that names the module or the cause. */
        const NvReloadStatus all[] = { NV_RELOAD_DONE, NV_RELOAD_IN_USE, NV_RELOAD_BUILTIN,
                NV_RELOAD_MODULES_DISABLED, NV_RELOAD_UNAVAILABLE, NV_RELOAD_UNLOAD_FAILED,
                NV_RELOAD_FAILED };

        for (size_t i = 0; i < ELEMENTSOF(all); i++) {
                NvReloadResult r = {
                        .status = all[i], .error = -EIO, .failed_step = "load", .was_loaded = true
                };
                _cleanup_free_ char *s = nv_reload_result_describe("kvm_amd", D, &r);

                ck_assert_ptr_nonnull(s);
                ck_assert_msg(strstr(s, "kvm_amd") || strstr(s, "modules_disabled"), "%s", s);
        }
}
END_TEST

/* ---- regressions of fixed core bugs ---- */

/*
 * The module is loaded but its file for the running kernel is gone (the kernel package was
 * upgraded or removed while this kernel runs: routine on Arch Linux, where the new package
 * replaces /usr/lib/modules/<old release>). Unloading it can never be undone, so nothing may be
 * unloaded. Today nv_module_reload() checks the file only for a module that is not loaded
 * (module-reload.c, "!res.was_loaded && !kmod_module_get_path(mod)"): it unloads, the load and
 * the rollback both fail with ENOENT, and the host is left without KVM.
 */
static const char *const missing_module_files[] = {
        "/lib/modules/6.1.0-27-amd64/kernel/arch/x86/kvm/kvm-amd.ko", /* modules.dep still names it */
        "/lib/modules/6.1.0-27-amd64", /* the whole tree */
};

START_TEST(test_loaded_module_file_gone)
{
        const Vendor *v = &vendors[0];
        NvFixture *f = setup(v);
        NvReloadResult res;

        ck_assert_int_eq(nv_fixture_remove(f, missing_module_files[_i]), 0);

        ck_assert_int_eq(nv_module_reload(v->module, D, &res), 0);
        assert_trap_log("", v->module);
        ck_assert_int_eq(res.status, NV_RELOAD_UNAVAILABLE);
        assert_invariant(v, E, D, &res);
        nv_fixture_free(f);
}
END_TEST

static Suite *reload_suite(void)
{
        Suite *s = suite_create("module-reload");
        TCase *tc = tcase_create("reload");
        int n = (int) ELEMENTSOF(vendors);

        tcase_add_loop_test(tc, test_toggle, 0, n);
        tcase_add_loop_test(tc, test_same_value, 0, n);
        tcase_add_loop_test(tc, test_in_use, 0, n);
        tcase_add_loop_test(tc, test_fault, 0, n * (int) ELEMENTSOF(faults));
        tcase_add_loop_test(tc, test_rollback_fails_then_recover, 0, n);
        tcase_add_loop_test(tc, test_crash_after_unload, 0, n);
        tcase_add_loop_test(tc, test_crash_after_load, 0, n);
        tcase_add_test(tc, test_recover_garbage_record);
        tcase_add_test(tc, test_admin_options_kept);
        tcase_add_test(tc, test_not_loaded);
        tcase_add_test(tc, test_not_loaded_enable);
        tcase_add_test(tc, test_not_loaded_load_fails);
        tcase_add_test(tc, test_builtin);
        tcase_add_test(tc, test_unavailable);
        tcase_add_test(tc, test_describe);
        /* Copying a host and running depmod takes a moment under valgrind. */
        tcase_add_loop_test(tc, test_loaded_module_file_gone, 0, (int) ELEMENTSOF(missing_module_files));
        tcase_set_timeout(tc, 120);
        suite_add_tcase(s, tc);

        return s;
}

int main(void)
{
        return nv_fixture_run_suite_preloaded(reload_suite());
}
