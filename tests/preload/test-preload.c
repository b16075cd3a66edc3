/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Self test of nv-preload.so: runs the real libkmod API against a temporary fixture root.
 * Must run with LD_PRELOAD=nv-preload.so; main() refuses to run otherwise, because the module
 * syscalls below would then reach the real kernel.
 */

/* Call the plain open/stat/fopen that libkmod calls, not the open64/stat64/fopen64 that meson's
 * -D_FILE_OFFSET_BITS=64 would turn them into (those are tested by name). */
#undef _FILE_OFFSET_BITS
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <check.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libkmod.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* glibc exports these two without declaring them; finit_module only comes from the preload. */
int init_module(void *image, unsigned long len, const char *params);
int delete_module(const char *name, unsigned int flags);

#define RELEASE "6.1.0-test"

#define _cleanup_(f)  __attribute__((cleanup(f)))
#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p)
{
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func) \
        static inline void func##p(type *p)     \
        {                                       \
                if (*p)                         \
                        func(*p);               \
        }
DEFINE_TRIVIAL_CLEANUP_FUNC(struct kmod_ctx *, kmod_unref)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct kmod_module *, kmod_module_unref)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct kmod_list *, kmod_module_unref_list)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct kmod_config_iter *, kmod_config_iter_free_iter)
#define _cleanup_ctx_  _cleanup_(kmod_unrefp)
#define _cleanup_mod_  _cleanup_(kmod_module_unrefp)
#define _cleanup_list_ _cleanup_(kmod_module_unref_listp)

/* ---- the fixture root ---- */

static char root[PATH_MAX];

static char *fx_path(const char *rel)
{
        char *p;

        ck_assert(asprintf(&p, "%s/%s", root, rel) >= 0);
        return p;
}

static void mkdir_parents(char *p)
{
        for (char *s = p + 1; *s; s++)
                if (*s == '/') {
                        *s = '\0';
                        ck_assert_msg(mkdir(p, 0755) >= 0 || errno == EEXIST, "mkdir %s: %m", p);
                        *s = '/';
                }
}

static void fx_mkdir(const char *rel)
{
        _cleanup_free_ char *p = fx_path(rel);

        mkdir_parents(p);
        ck_assert_msg(mkdir(p, 0755) >= 0 || errno == EEXIST, "mkdir %s: %m", p);
}

static void fx_write_n(const char *rel, const void *data, size_t size)
{
        _cleanup_free_ char *p = fx_path(rel);
        FILE *f;

        mkdir_parents(p);
        f = fopen(p, "we");
        ck_assert_msg(f, "fopen %s: %m", p);
        ck_assert_uint_eq(fwrite(data, 1, size, f), size);
        ck_assert_int_eq(fclose(f), 0);
}

static void fx_write(const char *rel, const char *content)
{
        fx_write_n(rel, content, strlen(content));
}

static void fx_symlink(const char *target, const char *rel)
{
        _cleanup_free_ char *p = fx_path(rel);

        mkdir_parents(p);
        ck_assert_msg(symlink(target, p) >= 0, "symlink %s: %m", p);
}

/* The file's content, or NULL if it does not exist. */
static char *fx_read(const char *rel)
{
        _cleanup_free_ char *p = fx_path(rel);
        char *buf = NULL;
        size_t size = 0;
        FILE *f, *out;
        int c;

        f = fopen(p, "re");
        if (!f) {
                ck_assert_msg(errno == ENOENT, "fopen %s: %m", p);
                return NULL;
        }
        out = open_memstream(&buf, &size);
        ck_assert_ptr_nonnull(out);
        while ((c = fgetc(f)) != EOF)
                fputc(c, out);
        fclose(f);
        ck_assert_int_eq(fclose(out), 0);
        return buf;
}

static bool fx_exists(const char *rel)
{
        _cleanup_free_ char *p = fx_path(rel);
        struct stat st;

        return lstat(p, &st) >= 0;
}

#define assert_file(rel, expected)                                                      \
        do {                                                                            \
                _cleanup_free_ char *_c = fx_read(rel);                                 \
                const char *_e = (expected);                                            \
                if (!_e)                                                                \
                        ck_assert_msg(!_c, "%s should not exist, has \"%s\"", rel, _c); \
                else {                                                                  \
                        ck_assert_msg(_c, "%s does not exist", rel);                    \
                        ck_assert_str_eq(_c, _e);                                       \
                }                                                                       \
        } while (0)

/* expr must fail with -1 and errno err; errno is saved before check's own calls can touch it. */
#define assert_errno(expr, err)                                                            \
        do {                                                                               \
                long _r;                                                                   \
                int _e;                                                                    \
                errno = 0;                                                                 \
                _r = (long) (expr);                                                        \
                _e = errno;                                                                \
                ck_assert_msg(_r == -1, "%s returned %ld", #expr, _r);                     \
                ck_assert_msg(_e == (err), "%s: errno %d, expected %d", #expr, _e, (err)); \
        } while (0)

#define assert_log(expected) assert_file(".nv-trap.log", expected)

/* A loaded module as the kernel shows it. */
static void fx_module(const char *name, const char *initstate, const char *refcnt)
{
        _cleanup_free_ char *d = NULL, *s = NULL, *r = NULL, *h = NULL, *line = NULL, *old = NULL;

        ck_assert(asprintf(&d, "sys/module/%s/parameters", name) >= 0);
        ck_assert(asprintf(&h, "sys/module/%s/holders", name) >= 0);
        ck_assert(asprintf(&s, "sys/module/%s/initstate", name) >= 0);
        ck_assert(asprintf(&r, "sys/module/%s/refcnt", name) >= 0);
        fx_mkdir(d);
        fx_mkdir(h);
        fx_write(s, initstate);
        fx_write(r, refcnt);

        old = fx_read("proc/modules");
        ck_assert(asprintf(&line, "%s%s 4096 %d - Live 0x0000000000000000\n", old ?: "", name,
                          atoi(refcnt)) >= 0);
        fx_write("proc/modules", line);
}

/* A module file that libkmod can open: its content does not matter to a plain insert. */
static char *fx_ko(const char *file, const char *modname)
{
        _cleanup_free_ char *rel = NULL;
        char image[128];
        int n;

        n = snprintf(image, sizeof(image), "\177ELF-not-really%c.modinfo%cname=%s%cvermagic=6.1%c", 0, 0,
                modname, 0, 0);
        ck_assert(asprintf(&rel, "modules/%s", file) >= 0);
        fx_write_n(rel, image, (size_t) n);
        return fx_path(rel);
}

static int rm_one(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
        (void) st, (void) type, (void) ftw;
        return remove(p);
}

static void silent_log(void *data, int priority, const char *file, int line, const char *fn,
        const char *format, va_list args)
{
        (void) data, (void) priority, (void) file, (void) line, (void) fn, (void) format, (void) args;
}

static struct kmod_ctx *new_ctx(void)
{
        _cleanup_free_ char *dir = fx_path("lib/modules/" RELEASE), *conf = fx_path("etc/modprobe.d");
        const char *config[] = { conf, NULL };
        struct kmod_ctx *ctx;

        ctx = kmod_new(dir, config);
        ck_assert_ptr_nonnull(ctx);
        kmod_set_log_fn(ctx, silent_log, NULL);
        return ctx;
}

static struct kmod_module *new_mod(struct kmod_ctx *ctx, const char *name)
{
        struct kmod_module *mod = NULL;

        ck_assert_int_eq(kmod_module_new_from_name(ctx, name, &mod), 0);
        return mod;
}

static struct kmod_module *new_mod_file(struct kmod_ctx *ctx, const char *file, const char *modname)
{
        _cleanup_free_ char *path = fx_ko(file, modname);
        struct kmod_module *mod = NULL;

        ck_assert_int_eq(kmod_module_new_from_path(ctx, path, &mod), 0);
        return mod;
}

static void setup(void)
{
        snprintf(root, sizeof(root), "%s/nv-preload-test-XXXXXX", getenv("TMPDIR") ?: "/tmp");
        ck_assert_ptr_nonnull(mkdtemp(root));
        ck_assert_int_eq(setenv("NESTVIRT_ROOT", root, 1), 0);

        fx_mkdir("lib/modules/" RELEASE);
        fx_mkdir("etc/modprobe.d");
        fx_mkdir("sys/module");
        fx_write("proc/cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/vda1 quiet\n");
        fx_write("proc/modules", "");
        fx_write("proc/sys/kernel/modules_disabled", "0\n");
}

static void teardown(void)
{
        unsetenv("NESTVIRT_ROOT");
        (void) nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- path redirection ---- */

static char *read_fd(int fd)
{
        char buf[256];
        ssize_t n;

        ck_assert_int_ge(fd, 0);
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        ck_assert_int_ge(n, 0);
        buf[n] = '\0';
        return strdup(buf);
}

static char *read_stream(FILE *f)
{
        char buf[256] = "";

        ck_assert_ptr_nonnull(f);
        (void) !fgets(buf, sizeof(buf), f);
        fclose(f);
        return strdup(buf);
}

/* Only declared under _FORTIFY_SOURCE. */
int __open_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);

START_TEST(test_redirect_paths)
{
        const char *magic = "nv-magic-cmdline\n";
        char *s;
        struct stat st;
        struct stat64 st64;
        DIR *d;
        struct dirent *de;
        bool seen = false;

        fx_write("proc/cmdline", magic);
        fx_write("proc/modules", "nv_fixture 1 0 - Live 0x0000000000000000\n");
        fx_write("sys/module/nv_fixture/initstate", "live\n");

        s = read_fd(open("/proc/cmdline", O_RDONLY | O_CLOEXEC));
        ck_assert_str_eq(s, magic);
        free(s);
        s = read_fd(open64("/proc/cmdline", O_RDONLY));
        ck_assert_str_eq(s, magic);
        free(s);
        s = read_fd(__open_2("/proc/cmdline", O_RDONLY));
        ck_assert_str_eq(s, magic);
        free(s);
        s = read_fd(openat(AT_FDCWD, "/sys/module/nv_fixture/initstate", O_RDONLY));
        ck_assert_str_eq(s, "live\n");
        free(s);
        s = read_fd(openat64(-1, "/sys/module/nv_fixture/initstate", O_RDONLY));
        ck_assert_str_eq(s, "live\n");
        free(s);
        s = read_fd(__openat_2(AT_FDCWD, "/proc/cmdline", O_RDONLY));
        ck_assert_str_eq(s, magic);
        free(s);
        s = read_stream(fopen("/proc/modules", "re"));
        ck_assert_str_eq(s, "nv_fixture 1 0 - Live 0x0000000000000000\n");
        free(s);
        s = read_stream(fopen64("/proc/cmdline", "r"));
        ck_assert_str_eq(s, magic);
        free(s);

        ck_assert_int_eq(stat("/sys/module/nv_fixture/initstate", &st), 0);
        ck_assert_int_eq(st.st_size, 5);
        ck_assert_int_eq(stat64("/sys/module/nv_fixture", &st64), 0);
        ck_assert(S_ISDIR(st64.st_mode));
        ck_assert_int_eq(lstat("/sys/module/nv_fixture", &st), 0);
        ck_assert_int_eq(lstat64("/sys/module/nv_fixture/initstate", &st64), 0);
        ck_assert_int_eq(fstatat(AT_FDCWD, "/sys/module/nv_fixture/initstate", &st, 0), 0);
        ck_assert_int_eq(fstatat64(AT_FDCWD, "/sys/module/nv_fixture", &st64, AT_SYMLINK_NOFOLLOW), 0);
        ck_assert_int_eq(access("/sys/module/nv_fixture/initstate", R_OK), 0);
        ck_assert_int_eq(access("/sys/module", F_OK), 0);

        d = opendir("/sys/module");
        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d))) {
                ck_assert(de->d_name[0] == '.' || strcmp(de->d_name, "nv_fixture") == 0);
                seen = seen || strcmp(de->d_name, "nv_fixture") == 0;
        }
        closedir(d);
        ck_assert(seen);

        /* Only the exact prefixes are redirected. */
        fx_write("sys/modulex", "x");
        fx_write("proc/cpuinfo", "x");
        fx_write("proc/cmdline2", "x");
        assert_errno(stat("/sys/modulex", &st), ENOENT);
        assert_errno(access("/proc/cmdline2", F_OK), ENOENT);
        s = read_stream(fopen("/proc/cpuinfo", "re"));
        ck_assert_str_ne(s, "x");
        free(s);
}
END_TEST

START_TEST(test_redirect_reads_env_each_call)
{
        const char *magic = "nv-magic-cmdline\n";
        char *s;

        fx_write("proc/cmdline", magic);
        s = read_fd(open("/proc/cmdline", O_RDONLY));
        ck_assert_str_eq(s, magic);
        free(s);

        unsetenv("NESTVIRT_ROOT");
        s = read_fd(open("/proc/cmdline", O_RDONLY));
        ck_assert_str_ne(s, magic);
        free(s);

        setenv("NESTVIRT_ROOT", "", 1);
        s = read_fd(open("/proc/cmdline", O_RDONLY));
        ck_assert_str_ne(s, magic);
        free(s);

        setenv("NESTVIRT_ROOT", root, 1);
        s = read_fd(open("/proc/cmdline", O_RDONLY));
        ck_assert_str_eq(s, magic);
        free(s);
}
END_TEST

START_TEST(test_syscall_passthrough)
{
        ck_assert_int_eq(syscall(SYS_getpid), getpid());
        ck_assert_int_gt(syscall(SYS_gettid), 0);
        assert_errno(syscall(SYS_close, -1), EBADF);
}
END_TEST

/* ---- what libkmod reads ---- */

/* Writes modules.builtin.bin listing kvm with depmod. Returns false if there is no depmod. */
static bool fx_builtin_kvm(void)
{
        _cleanup_free_ char *cmd = NULL;

        if (access("/sbin/depmod", X_OK) < 0 && access("/usr/sbin/depmod", X_OK) < 0)
                return false;
        fx_write("lib/modules/" RELEASE "/modules.builtin", "kernel/arch/x86/kvm/kvm.ko\n");
        ck_assert(asprintf(&cmd, "PATH=/usr/sbin:/sbin:$PATH depmod -b '%s' %s 2>/dev/null", root,
                          RELEASE) >= 0);
        ck_assert_int_eq(system(cmd), 0);
        return true;
}

START_TEST(test_initstate_refcnt)
{
        _cleanup_ctx_ struct kmod_ctx *ctx = new_ctx();
        _cleanup_mod_ struct kmod_module *amd = new_mod(ctx, "kvm_amd"), *kvm = new_mod(ctx, "kvm"),
                                         *intel = new_mod(ctx, "kvm_intel"),
                                         *irq = new_mod(ctx, "irqbypass");

        fx_module("kvm_amd", "live\n", "2\n");
        fx_module("irqbypass", "going\n", "0\n");
        fx_mkdir("sys/module/kvm/parameters"); /* what a built-in module has in sysfs */

        ck_assert_int_eq(kmod_module_get_initstate(amd), KMOD_MODULE_LIVE);
        ck_assert_int_eq(kmod_module_get_refcnt(amd), 2);
        ck_assert_int_eq(kmod_module_get_initstate(intel), -ENOENT);
        ck_assert_int_eq(kmod_module_get_initstate(irq), KMOD_MODULE_GOING);

        /* libkmod ≥ 27 takes "built-in" from modules.builtin.bin only; a sysfs directory without
         * initstate is a module still being loaded. */
        ck_assert_int_eq(kmod_module_get_initstate(kvm), KMOD_MODULE_COMING);
        if (fx_builtin_kvm()) {
                _cleanup_ctx_ struct kmod_ctx *ctx2 = new_ctx();
                _cleanup_mod_ struct kmod_module *kvm2 = new_mod(ctx2, "kvm");

                ck_assert_int_eq(kmod_module_get_initstate(kvm2), KMOD_MODULE_BUILTIN);
        } else
                fprintf(stderr, "depmod not found, skipping the built-in case\n");

        fx_write("sys/module/kvm_amd/refcnt", "0\n");
        ck_assert_int_eq(kmod_module_get_refcnt(amd), 0);

        /* Reading is not trapped: nothing is logged. */
        assert_log(NULL);
}
END_TEST

START_TEST(test_loaded_and_holders)
{
        _cleanup_ctx_ struct kmod_ctx *ctx = new_ctx();
        _cleanup_mod_ struct kmod_module *kvm = new_mod(ctx, "kvm");
        _cleanup_list_ struct kmod_list *loaded = NULL, *holders = NULL;
        struct kmod_list *l;
        int n = 0;

        fx_module("kvm", "live\n", "1\n");
        fx_module("kvm_amd", "live\n", "0\n");
        fx_symlink("../../kvm_amd", "sys/module/kvm/holders/kvm_amd");

        ck_assert_int_eq(kmod_module_new_from_loaded(ctx, &loaded), 0);
        kmod_list_foreach(l, loaded)
        {
                struct kmod_module *m = kmod_module_get_module(l);
                const char *name = kmod_module_get_name(m);
                ck_assert(strcmp(name, "kvm") == 0 || strcmp(name, "kvm_amd") == 0);
                kmod_module_unref(m);
                n++;
        }
        ck_assert_int_eq(n, 2);

        holders = kmod_module_get_holders(kvm);
        ck_assert_ptr_nonnull(holders);
        ck_assert_ptr_null(kmod_list_next(holders, holders));
        {
                _cleanup_mod_ struct kmod_module *h = kmod_module_get_module(holders);
                ck_assert_str_eq(kmod_module_get_name(h), "kvm_amd");
        }
}
END_TEST

START_TEST(test_kernel_cmdline_options)
{
        _cleanup_ctx_ struct kmod_ctx *ctx = NULL;
        _cleanup_(kmod_config_iter_free_iterp) struct kmod_config_iter *it = NULL;
        bool found = false;

        /* Written before kmod_new(): libkmod reads /proc/cmdline while loading its config. */
        fx_write("proc/cmdline", "BOOT_IMAGE=/vmlinuz-6.1 root=/dev/vda1 ro kvm-amd.nested=1 quiet\n");
        ctx = new_ctx();

        it = kmod_config_get_options(ctx);
        ck_assert_ptr_nonnull(it);
        while (kmod_config_iter_next(it)) {
                const char *key = kmod_config_iter_get_key(it), *value = kmod_config_iter_get_value(it);

                ck_assert_str_eq(key, "kvm_amd");
                ck_assert_str_eq(value, "nested=1");
                found = true;
        }
        ck_assert(found);
}
END_TEST

/* ---- unload ---- */

START_TEST(test_remove_in_use)
{
        _cleanup_ctx_ struct kmod_ctx *ctx = new_ctx();
        _cleanup_mod_ struct kmod_module *amd = new_mod(ctx, "kvm_amd");

        fx_module("kvm_amd", "live\n", "2\n");
        ck_assert_int_eq(kmod_module_remove_module(amd, 0), -EAGAIN);
        ck_assert(fx_exists("sys/module/kvm_amd/initstate"));
        assert_file("proc/modules", "kvm_amd 4096 2 - Live 0x0000000000000000\n");
        assert_log("unload kvm_amd -> EAGAIN\n");
}
END_TEST

START_TEST(test_remove)
{
        _cleanup_ctx_ struct kmod_ctx *ctx = new_ctx();
        _cleanup_mod_ struct kmod_module *amd = new_mod(ctx, "kvm_amd");

        fx_module("kvm", "live\n", "1\n");
        fx_module("kvm_amd", "live\n", "0\n");
        fx_module("kvm_amd2", "live\n", "0\n");
        fx_symlink("../../kvm_amd", "sys/module/kvm/holders/kvm_amd");

        ck_assert_int_eq(kmod_module_remove_module(amd, 0), 0);
        ck_assert(!fx_exists("sys/module/kvm_amd"));
        ck_assert(!fx_exists("sys/module/kvm/holders/kvm_amd"));
        ck_assert(fx_exists("sys/module/kvm_amd2/initstate"));
        assert_file("proc/modules",
                "kvm 4096 1 - Live 0x0000000000000000\n"
                "kvm_amd2 4096 0 - Live 0x0000000000000000\n");
        ck_assert_int_eq(kmod_module_get_initstate(amd), -ENOENT);

        ck_assert_int_eq(kmod_module_remove_module(amd, 0), -ENOENT);
        assert_log("unload kvm_amd -> 0\n"
                   "unload kvm_amd -> ENOENT\n");
}
END_TEST

START_TEST(test_remove_refused)
{
        _cleanup_ctx_ struct kmod_ctx *ctx = new_ctx();
        _cleanup_mod_ struct kmod_module *kvm = new_mod(ctx, "kvm"), *intel = new_mod(ctx, "kvm_intel"),
                                         *irq = new_mod(ctx, "irqbypass");

        /* Holders count even with a zero refcnt. */
        fx_module("kvm", "live\n", "0\n");
        fx_module("kvm_amd", "live\n", "0\n");
        fx_symlink("../../kvm_amd", "sys/module/kvm/holders/kvm_amd");
        ck_assert_int_eq(kmod_module_remove_module(kvm, 0), -EAGAIN);
        ck_assert(fx_exists("sys/module/kvm/initstate"));

        /* Built-in: not in the kernel's module list. */
        fx_mkdir("sys/module/kvm_intel/parameters");
        ck_assert_int_eq(kmod_module_remove_module(intel, 0), -ENOENT);
        ck_assert(fx_exists("sys/module/kvm_intel/parameters"));

        /* Still initialising or already going away. */
        fx_module("irqbypass", "going\n", "0\n");
        ck_assert_int_eq(kmod_module_remove_module(irq, KMOD_REMOVE_FORCE), -EBUSY);

        assert_errno(delete_module("../kvm", O_NONBLOCK), ENOENT);

        assert_log("unload kvm -> EAGAIN\n"
                   "unload kvm_intel -> ENOENT\n"
                   "unload irqbypass -> EBUSY\n"
                   "unload ../kvm -> ENOENT\n");
}
END_TEST

/* ---- load ---- */

START_TEST(test_insert_amd)
{
        _cleanup_ctx_ struct kmod_ctx *ctx = new_ctx();
        _cleanup_mod_ struct kmod_module *amd = new_mod_file(ctx, "kvm_amd.ko", "kvm_amd");
        _cleanup_list_ struct kmod_list *loaded = NULL;
        _cleanup_free_ char *ko = fx_path("modules/kvm_amd.ko"), *line = NULL;
        struct stat st;

        ck_assert_int_eq(kmod_module_insert_module(amd, 0, "nested=0"), 0);
        assert_file("sys/module/kvm_amd/parameters/nested", "0\n");
        assert_file("sys/module/kvm_amd/initstate", "live\n");
        assert_file("sys/module/kvm_amd/refcnt", "0\n");
        ck_assert(fx_exists("sys/module/kvm_amd/holders"));
        ck_assert_int_eq(kmod_module_get_initstate(amd), KMOD_MODULE_LIVE);
        ck_assert_int_eq(kmod_module_get_refcnt(amd), 0);

        /* The size is the module file's. */
        ck_assert_int_eq(stat(ko, &st), 0);
        ck_assert(
                asprintf(&line, "kvm_amd %lld 0 - Live 0x0000000000000000\n", (long long) st.st_size) >= 0);
        assert_file("proc/modules", line);
        ck_assert_int_eq(kmod_module_new_from_loaded(ctx, &loaded), 0);
        ck_assert_ptr_nonnull(loaded);
        {
                _cleanup_mod_ struct kmod_module *m = kmod_module_get_module(loaded);
                ck_assert_str_eq(kmod_module_get_name(m), "kvm_amd");
                ck_assert_int_eq(kmod_module_get_size(m), st.st_size);
        }

        ck_assert_int_eq(kmod_module_insert_module(amd, 0, "nested=1"), -EEXIST);
        assert_file("sys/module/kvm_amd/parameters/nested", "0\n");

        assert_log("load kvm_amd nested=0 -> 0\n"
                   "load kvm_amd nested=1 -> EEXIST\n");
}
END_TEST

START_TEST(test_insert_amd_invalid)
{
        _cleanup_ctx_ struct kmod_ctx *ctx = new_ctx();
        _cleanup_mod_ struct kmod_module *amd = new_mod_file(ctx, "kvm_amd.ko", "kvm_amd");

        ck_assert_int_eq(kmod_module_insert_module(amd, 0, "nested=Y"), -EINVAL);
        ck_assert(!fx_exists("sys/module/kvm_amd"));
        assert_file("proc/modules", "");
        assert_log("load kvm_amd nested=Y -> EINVAL\n");
}
END_TEST

START_TEST(test_insert_intel)
{
        _cleanup_ctx_ struct kmod_ctx *ctx = new_ctx();
        _cleanup_mod_ struct kmod_module *intel = new_mod_file(ctx, "kvm_intel.ko", "kvm_intel");

        ck_assert_int_eq(kmod_module_insert_module(intel, 0, "nested=1"), 0);
        assert_file("sys/module/kvm_intel/parameters/nested", "Y\n");
        assert_log("load kvm_intel nested=1 -> 0\n");
}
END_TEST

static const struct {
        const char *module, *options;
        int result;
        const char *nested;
} param_cases[] = {
        { "kvm_intel", NULL, 0, "Y\n" },
        { "kvm_intel", "", 0, "Y\n" },
        { "kvm_intel", "nested", 0, "Y\n" },
        { "kvm_intel", "nested=0", 0, "N\n" },
        { "kvm_intel", "nested=n", 0, "N\n" },
        { "kvm_intel", "nested=N", 0, "N\n" },
        { "kvm_intel", "nested=y", 0, "Y\n" },
        { "kvm_intel", "nested=OFF", 0, "N\n" },
        { "kvm_intel", "nested=On", 0, "Y\n" },
        { "kvm_intel", "ept=1 nested=0 enable_apicv=1", 0, "N\n" },
        { "kvm_intel", "nested=0   nested=1", 0, "Y\n" },
        { "kvm_intel", "nested=\"N\"", 0, "N\n" },
        { "kvm_intel", "\"nested=N\"", 0, "N\n" },
        { "kvm_intel", "nested=2", -EINVAL, NULL },
        { "kvm_intel", "nested=", -EINVAL, NULL },
        { "kvm_intel", "nested=maybe", -EINVAL, NULL },
        { "kvm_amd", NULL, 0, "1\n" },
        { "kvm_amd", "nested=1", 0, "1\n" },
        { "kvm_amd", "nested=0x0", 0, "0\n" },
        { "kvm_amd", "nested=010", 0, "8\n" },
        { "kvm_amd", "nested=-1", 0, "-1\n" },
        { "kvm_amd", "nested=\"0\"", 0, "0\n" },
        { "kvm_amd", "npt=1 nested=1 nested=0", 0, "0\n" },
        { "kvm_amd", "nested", -EINVAL, NULL },
        { "kvm_amd", "nested=", -EINVAL, NULL },
        { "kvm_amd", "nested=N", -EINVAL, NULL },
        { "kvm_amd", "nested=1x", -EINVAL, NULL },
        { "kvm_amd", "nested=99999999999", -ERANGE, NULL },
};

START_TEST(test_param_parsing)
{
        _cleanup_ctx_ struct kmod_ctx *ctx = new_ctx();
        _cleanup_free_ char *file = NULL;
        _cleanup_mod_ struct kmod_module *mod = NULL;
        const char *module = param_cases[_i].module, *options = param_cases[_i].options;

        ck_assert(asprintf(&file, "%s.ko", module) >= 0);
        mod = new_mod_file(ctx, file, module);

        ck_assert_msg(kmod_module_insert_module(mod, 0, options) == param_cases[_i].result,
                "%s \"%s\": expected %d", module, options, param_cases[_i].result);
        if (param_cases[_i].nested) {
                assert_file(module[4] == 'i' ? "sys/module/kvm_intel/parameters/nested"
                                             : "sys/module/kvm_amd/parameters/nested",
                        param_cases[_i].nested);
                ck_assert_int_eq(kmod_module_remove_module(mod, 0), 0);
        } else
                ck_assert(!fx_exists(module[4] == 'i' ? "sys/module/kvm_intel" : "sys/module/kvm_amd"));
}
END_TEST

START_TEST(test_insert_other_and_holders)
{
        _cleanup_ctx_ struct kmod_ctx *ctx = new_ctx();
        _cleanup_mod_ struct kmod_module *kvm = new_mod_file(ctx, "kvm.ko", "kvm"),
                                         *amd = new_mod_file(ctx, "kvm_amd.ko", "kvm_amd");
        _cleanup_list_ struct kmod_list *holders = NULL;
        char target[64];
        ssize_t n;

        ck_assert_int_eq(kmod_module_insert_module(kvm, 0, "nested=1"), 0);
        assert_file("sys/module/kvm/initstate", "live\n");
        assert_file("sys/module/kvm/refcnt", "0\n");
        ck_assert(fx_exists("sys/module/kvm/holders"));
        ck_assert(fx_exists("sys/module/kvm/parameters"));
        ck_assert(!fx_exists("sys/module/kvm/parameters/nested"));

        ck_assert_int_eq(kmod_module_insert_module(amd, 0, NULL), 0);
        {
                _cleanup_free_ char *link = fx_path("sys/module/kvm/holders/kvm_amd");
                n = readlink(link, target, sizeof(target) - 1);
                ck_assert_int_gt(n, 0);
                target[n] = '\0';
                ck_assert_str_eq(target, "../../kvm_amd");
        }
        holders = kmod_module_get_holders(kvm);
        ck_assert_ptr_nonnull(holders);
        {
                _cleanup_mod_ struct kmod_module *h = kmod_module_get_module(holders);
                ck_assert_str_eq(kmod_module_get_name(h), "kvm_amd");
        }

        ck_assert_int_eq(kmod_module_remove_module(kvm, 0), -EAGAIN);
        ck_assert_int_eq(kmod_module_remove_module(amd, 0), 0);
        ck_assert(!fx_exists("sys/module/kvm/holders/kvm_amd"));
        ck_assert_int_eq(kmod_module_remove_module(kvm, 0), 0);
        assert_file("proc/modules", "");

        assert_log("load kvm nested=1 -> 0\n"
                   "load kvm_amd  -> 0\n"
                   "unload kvm -> EAGAIN\n"
                   "unload kvm_amd -> 0\n"
                   "unload kvm -> 0\n");
}
END_TEST

START_TEST(test_module_syscalls)
{
        int (*finit)(int, const char *, int) =
                (int (*)(int, const char *, int)) dlsym(RTLD_DEFAULT, "finit_module");
        static const char amd_image[] = "\177ELF junk\0.modinfo\0license=GPL\0name=kvm_amd\0depends=kvm";
        static const char intel_image[] = "name=kvm_intel";
        static const char no_name[] = "\177ELF\0filename=kvm_amd\0xname=kvm_amd\0";
        _cleanup_free_ char *zst = fx_ko("kvm-amd.ko.zst", "ignored"),
                            *xz = fx_ko("kvm-intel.ko.xz", "ignored");
        int fd;

        /* finit_module: the name comes from the file name. */
        ck_assert_ptr_nonnull(finit);
        fd = open(xz, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(finit(fd, "nested=0", 0), 0);
        close(fd);
        assert_file("sys/module/kvm_intel/parameters/nested", "N\n");
        fd = open(zst, O_RDONLY | O_CLOEXEC);
        ck_assert_int_eq(syscall(__NR_finit_module, fd, "", 0), 0);
        close(fd);
        assert_file("sys/module/kvm_amd/parameters/nested", "1\n");
        assert_errno(finit(-1, "", 0), EBADF);

        ck_assert_int_eq(delete_module("kvm_intel", O_NONBLOCK), 0);
        ck_assert_int_eq(syscall(__NR_delete_module, "kvm_amd", O_NONBLOCK), 0);
        ck_assert(!fx_exists("sys/module/kvm_amd"));

        /* init_module: the name comes from .modinfo in the image. */
        ck_assert_int_eq(init_module((void *) amd_image, sizeof(amd_image), "nested=0"), 0);
        assert_file("sys/module/kvm_amd/parameters/nested", "0\n");
        ck_assert_int_eq(syscall(__NR_init_module, intel_image, sizeof(intel_image), "nested=N"), 0);
        assert_file("sys/module/kvm_intel/parameters/nested", "N\n");
        assert_errno(init_module((void *) no_name, sizeof(no_name), ""), ENOEXEC);
        assert_errno(syscall(__NR_init_module, amd_image, sizeof(amd_image), ""), EEXIST);

        assert_log("load kvm_intel nested=0 -> 0\n"
                   "load kvm_amd  -> 0\n"
                   "load ?  -> EBADF\n"
                   "unload kvm_intel -> 0\n"
                   "unload kvm_amd -> 0\n"
                   "load kvm_amd nested=0 -> 0\n"
                   "load kvm_intel nested=N -> 0\n"
                   "load ?  -> ENOEXEC\n"
                   "load kvm_amd  -> EEXIST\n");
}
END_TEST

START_TEST(test_probe)
{
        _cleanup_ctx_ struct kmod_ctx *ctx = NULL;
        _cleanup_mod_ struct kmod_module *amd = NULL;

        fx_write("proc/cmdline", "root=/dev/vda1 kvm_amd.nested=1\n");
        ctx = new_ctx();
        amd = new_mod_file(ctx, "kvm_amd.ko", "kvm_amd");

        /* libkmod looks at initstate itself and never calls into the kernel. */
        fx_module("kvm_amd", "live\n", "0\n");
        ck_assert_int_eq(
                kmod_module_probe_insert_module(amd, KMOD_PROBE_FAIL_ON_LOADED, NULL, NULL, NULL, NULL),
                -EEXIST);
        ck_assert_int_eq(kmod_module_probe_insert_module(amd, 0, NULL, NULL, NULL, NULL), 0);
        assert_log(NULL);

        /* Not loaded: libkmod passes the kernel command line's options, then the extra ones. */
        ck_assert_int_eq(kmod_module_remove_module(amd, 0), 0);
        ck_assert_int_eq(kmod_module_probe_insert_module(
                                 amd, KMOD_PROBE_FAIL_ON_LOADED, "nested=0", NULL, NULL, NULL),
                0);
        assert_file("sys/module/kvm_amd/parameters/nested", "0\n");
        assert_log("unload kvm_amd -> 0\n"
                   "load kvm_amd nested=1 nested=0 -> 0\n");
}
END_TEST

/* ---- policy ---- */

START_TEST(test_modules_disabled)
{
        _cleanup_ctx_ struct kmod_ctx *ctx = new_ctx();
        _cleanup_mod_ struct kmod_module *amd = new_mod_file(ctx, "kvm_amd.ko", "kvm_amd"),
                                         *intel = new_mod(ctx, "kvm_intel");

        fx_module("kvm_intel", "live\n", "0\n");
        fx_write("proc/sys/kernel/modules_disabled", "1\n");

        ck_assert_int_eq(kmod_module_insert_module(amd, 0, "nested=1"), -EPERM);
        ck_assert(!fx_exists("sys/module/kvm_amd"));
        ck_assert_int_eq(kmod_module_remove_module(intel, 0), -EPERM);
        ck_assert(fx_exists("sys/module/kvm_intel/initstate"));

        assert_log("load kvm_amd nested=1 -> EPERM\n"
                   "unload kvm_intel -> EPERM\n");
}
END_TEST

START_TEST(test_no_root)
{
        _cleanup_ctx_ struct kmod_ctx *ctx = new_ctx();
        _cleanup_mod_ struct kmod_module *amd = new_mod_file(ctx, "kvm_amd.ko", "kvm_amd");
        _cleanup_free_ char *path = fx_path("modules/kvm_amd.ko");
        static const char image[] = "\0name=kvm_amd";
        int fd;

        fx_module("kvm_intel", "live\n", "0\n");
        fd = open(path, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);

        /* Never the real kernel: every module call fails without a root. */
        for (int i = 0; i < 2; i++) {
                if (i == 0)
                        unsetenv("NESTVIRT_ROOT");
                else
                        setenv("NESTVIRT_ROOT", "", 1);

                ck_assert_int_eq(kmod_module_insert_module(amd, 0, "nested=1"), -EPERM);
                ck_assert_int_eq(kmod_module_remove_module(amd, 0), -EPERM);
                assert_errno(init_module((void *) image, sizeof(image), ""), EPERM);
                assert_errno(delete_module("kvm_intel", O_NONBLOCK), EPERM);
                assert_errno(syscall(__NR_finit_module, fd, "", 0), EPERM);
                assert_errno(syscall(__NR_init_module, image, sizeof(image), ""), EPERM);
                assert_errno(syscall(__NR_delete_module, "kvm_intel", O_NONBLOCK), EPERM);
        }
        close(fd);

        setenv("NESTVIRT_ROOT", root, 1);
        ck_assert(!fx_exists("sys/module/kvm_amd"));
        ck_assert(fx_exists("sys/module/kvm_intel/initstate"));
        assert_log(NULL);
}
END_TEST

/* ---- fault injection ---- */

START_TEST(test_fault_load_count)
{
        _cleanup_ctx_ struct kmod_ctx *ctx = new_ctx();
        _cleanup_mod_ struct kmod_module *amd = new_mod_file(ctx, "kvm_amd.ko", "kvm_amd");

        fx_write(".nv-faults",
                "# injected\n"
                "load kvm_intel ENOMEM\n"
                "load kvm_amd EIO 2\n"
                "unload * EBUSY 3\n");

        ck_assert_int_eq(kmod_module_insert_module(amd, 0, "nested=0"), -EIO);
        ck_assert(!fx_exists("sys/module/kvm_amd"));
        assert_file(".nv-faults",
                "# injected\n"
                "load kvm_intel ENOMEM\n"
                "load kvm_amd EIO 1\n"
                "unload * EBUSY 3\n");

        ck_assert_int_eq(kmod_module_insert_module(amd, 0, "nested=0"), -EIO);
        ck_assert(!fx_exists("sys/module/kvm_amd"));
        assert_file(".nv-faults",
                "# injected\n"
                "load kvm_intel ENOMEM\n"
                "unload * EBUSY 3\n");

        ck_assert_int_eq(kmod_module_insert_module(amd, 0, "nested=0"), 0);
        assert_file("sys/module/kvm_amd/parameters/nested", "0\n");

        assert_log("load kvm_amd nested=0 -> EIO\n"
                   "load kvm_amd nested=0 -> EIO\n"
                   "load kvm_amd nested=0 -> 0\n");
}
END_TEST

START_TEST(test_fault_unload)
{
        _cleanup_ctx_ struct kmod_ctx *ctx = new_ctx();
        _cleanup_mod_ struct kmod_module *amd = new_mod(ctx, "kvm_amd"), *intel = new_mod(ctx, "kvm_intel");
        const char *faults = "unload kvm-amd EBUSY\n";

        fx_module("kvm_amd", "live\n", "0\n");
        fx_module("kvm_intel", "live\n", "0\n");
        fx_write(".nv-faults", faults);

        /* Unlimited: the file stays as it is, and nothing is removed. */
        for (int i = 0; i < 3; i++)
                ck_assert_int_eq(kmod_module_remove_module(amd, 0), -EBUSY);
        assert_file(".nv-faults", faults);
        ck_assert(fx_exists("sys/module/kvm_amd/initstate"));

        /* Other modules are not affected. */
        ck_assert_int_eq(kmod_module_remove_module(intel, 0), 0);

        assert_log("unload kvm_amd -> EBUSY\n"
                   "unload kvm_amd -> EBUSY\n"
                   "unload kvm_amd -> EBUSY\n"
                   "unload kvm_intel -> 0\n");
}
END_TEST

static const struct {
        const char *name;
        int error;
} errno_cases[] = {
        { "EIO", EIO },
        { "ENOMEM", ENOMEM },
        { "EPERM", EPERM },
        { "EAGAIN", EAGAIN },
        { "EWOULDBLOCK", EAGAIN },
        { "EINVAL", EINVAL },
        { "ENOENT", ENOENT },
        { "EEXIST", EEXIST },
        { "EBUSY", EBUSY },
        { "ENOEXEC", ENOEXEC },
        { "ETIMEDOUT", ETIMEDOUT },
        { "EKEYREJECTED", EKEYREJECTED },
        { "5", EIO },
};

START_TEST(test_fault_errnos)
{
        _cleanup_ctx_ struct kmod_ctx *ctx = new_ctx();
        _cleanup_mod_ struct kmod_module *amd = new_mod_file(ctx, "kvm_amd.ko", "kvm_amd");
        _cleanup_free_ char *rules = NULL;

        ck_assert(asprintf(&rules, "load * %s 1\nunload * %s 1\n", errno_cases[_i].name,
                          errno_cases[_i].name) >= 0);
        fx_write(".nv-faults", rules);

        ck_assert_int_eq(kmod_module_insert_module(amd, 0, NULL), -errno_cases[_i].error);
        ck_assert(!fx_exists("sys/module/kvm_amd"));
        ck_assert_int_eq(kmod_module_insert_module(amd, 0, NULL), 0);
        ck_assert_int_eq(kmod_module_remove_module(amd, 0), -errno_cases[_i].error);
        ck_assert(fx_exists("sys/module/kvm_amd"));
        ck_assert_int_eq(kmod_module_remove_module(amd, 0), 0);
        assert_file(".nv-faults", "");
}
END_TEST

START_TEST(test_fault_malformed)
{
        _cleanup_ctx_ struct kmod_ctx *ctx = new_ctx();
        _cleanup_mod_ struct kmod_module *amd = new_mod_file(ctx, "kvm_amd.ko", "kvm_amd");
        const char *faults = "load kvm_amd ENOTANERRNO\n"
                             "load kvm_amd EIO -1\n"
                             "explode kvm_amd EIO\n"
                             "load kvm_amd\n"
                             "load kvm_amd EIO 0\n";

        fx_write(".nv-faults", faults);
        ck_assert_int_eq(kmod_module_insert_module(amd, 0, NULL), 0);
        assert_file(".nv-faults", faults);
}
END_TEST

START_TEST(test_fault_load_wrong)
{
        _cleanup_ctx_ struct kmod_ctx *ctx = new_ctx();
        _cleanup_mod_ struct kmod_module *amd = new_mod_file(ctx, "kvm_amd.ko", "kvm_amd"),
                                         *intel = new_mod_file(ctx, "kvm_intel.ko", "kvm_intel");

        fx_write(".nv-faults",
                "load-wrong kvm_amd - 1\n"
                "load-wrong kvm_intel -\n");

        /* A load that fails does not use the rule up. */
        fx_module("kvm_amd", "live\n", "0\n");
        ck_assert_int_eq(kmod_module_insert_module(amd, 0, "nested=0"), -EEXIST);
        ck_assert_int_eq(kmod_module_remove_module(amd, 0), 0);

        ck_assert_int_eq(kmod_module_insert_module(amd, 0, "nested=0"), 0);
        assert_file("sys/module/kvm_amd/parameters/nested", "1\n");
        assert_file(".nv-faults", "load-wrong kvm_intel -\n");
        ck_assert_int_eq(kmod_module_remove_module(amd, 0), 0);
        ck_assert_int_eq(kmod_module_insert_module(amd, 0, "nested=0"), 0);
        assert_file("sys/module/kvm_amd/parameters/nested", "0\n");

        ck_assert_int_eq(kmod_module_insert_module(intel, 0, "nested=1"), 0);
        assert_file("sys/module/kvm_intel/parameters/nested", "N\n");
        ck_assert_int_eq(kmod_module_remove_module(intel, 0), 0);
        ck_assert_int_eq(kmod_module_insert_module(intel, 0, "nested=N"), 0);
        assert_file("sys/module/kvm_intel/parameters/nested", "Y\n");

        /* An invalid value stays invalid. */
        ck_assert_int_eq(kmod_module_remove_module(intel, 0), 0);
        ck_assert_int_eq(kmod_module_insert_module(intel, 0, "nested=maybe"), -EINVAL);

        assert_log("load kvm_amd nested=0 -> EEXIST\n"
                   "unload kvm_amd -> 0\n"
                   "load kvm_amd nested=0 -> 0\n"
                   "unload kvm_amd -> 0\n"
                   "load kvm_amd nested=0 -> 0\n"
                   "load kvm_intel nested=1 -> 0\n"
                   "unload kvm_intel -> 0\n"
                   "load kvm_intel nested=N -> 0\n"
                   "unload kvm_intel -> 0\n"
                   "load kvm_intel nested=maybe -> EINVAL\n");
}
END_TEST

/* Runs f in a child process and returns its exit status. */
static int run_child(int (*f)(void))
{
        pid_t pid = fork();
        int status;

        ck_assert_int_ge(pid, 0);
        if (pid == 0)
                _exit(f());
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static int child_remove_amd(void)
{
        _cleanup_ctx_ struct kmod_ctx *ctx = new_ctx();
        _cleanup_mod_ struct kmod_module *amd = new_mod(ctx, "kvm_amd");
        int r = kmod_module_remove_module(amd, 0);

        return r == 0 ? 0 : r == -EAGAIN ? 11 : 1;
}

static int child_insert_amd(void)
{
        _cleanup_ctx_ struct kmod_ctx *ctx = new_ctx();
        _cleanup_mod_ struct kmod_module *amd = new_mod_file(ctx, "kvm_amd.ko", "kvm_amd");

        return kmod_module_insert_module(amd, 0, "nested=1") == 0 ? 0 : 1;
}

START_TEST(test_crash_after)
{
        fx_module("kvm_amd", "live\n", "2\n");
        fx_write(".nv-faults",
                "crash-after unload * 1\n"
                "crash-after load kvm_amd\n");

        /* A failed unload does not crash. */
        ck_assert_int_eq(run_child(child_remove_amd), 11);
        assert_file(".nv-faults",
                "crash-after unload * 1\n"
                "crash-after load kvm_amd\n");

        /* A successful one does, once the module is gone and the log is written. */
        fx_write("sys/module/kvm_amd/refcnt", "0\n");
        ck_assert_int_eq(run_child(child_remove_amd), 99);
        ck_assert(!fx_exists("sys/module/kvm_amd"));
        assert_file(".nv-faults", "crash-after load kvm_amd\n");

        ck_assert_int_eq(run_child(child_insert_amd), 99);
        assert_file("sys/module/kvm_amd/parameters/nested", "1\n");
        ck_assert_int_eq(run_child(child_remove_amd), 0);

        assert_log("unload kvm_amd -> EAGAIN\n"
                   "unload kvm_amd -> 0\n"
                   "load kvm_amd nested=1 -> 0\n"
                   "unload kvm_amd -> 0\n");
}
END_TEST

static Suite *preload_suite(void)
{
        Suite *s = suite_create("nv-preload");
        struct {
                const char *name;
                const TTest *tests[8];
        } cases[] = {
                { "paths",
                        { test_redirect_paths, test_redirect_reads_env_each_call,
                                test_syscall_passthrough } },
                { "libkmod-reads",
                        { test_initstate_refcnt, test_loaded_and_holders, test_kernel_cmdline_options } },
                { "unload", { test_remove_in_use, test_remove, test_remove_refused } },
                { "load",
                        { test_insert_amd, test_insert_amd_invalid, test_insert_intel,
                                test_insert_other_and_holders, test_module_syscalls, test_probe } },
                { "policy", { test_modules_disabled, test_no_root } },
                { "faults",
                        { test_fault_load_count, test_fault_unload, test_fault_malformed,
                                test_fault_load_wrong, test_crash_after } },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                TCase *tc = tcase_create(cases[i].name);

                tcase_add_checked_fixture(tc, setup, teardown);
                tcase_set_timeout(tc, 60);
                for (size_t j = 0; j < ELEMENTSOF(cases[i].tests) && cases[i].tests[j]; j++)
                        tcase_add_test(tc, cases[i].tests[j]);
                if (strcmp(cases[i].name, "load") == 0)
                        tcase_add_loop_test(tc, test_param_parsing, 0, ELEMENTSOF(param_cases));
                if (strcmp(cases[i].name, "faults") == 0)
                        tcase_add_loop_test(tc, test_fault_errnos, 0, ELEMENTSOF(errno_cases));
                suite_add_tcase(s, tc);
        }
        return s;
}

/*
 * The module calls above must never reach the kernel: make sure the preload is in place. Plain C
 * here, check's assertions only work inside a test.
 */
static bool preload_active(void)
{
        char dir[PATH_MAX], file[PATH_MAX + 16], cmdline[64] = "";
        bool active = false;
        FILE *f;
        int fd;

        snprintf(dir, sizeof(dir), "%s/nv-preload-probe-XXXXXX", getenv("TMPDIR") ?: "/tmp");
        if (!mkdtemp(dir))
                return false;
        snprintf(file, sizeof(file), "%s/proc", dir);
        (void) mkdir(file, 0755);
        snprintf(file, sizeof(file), "%s/proc/cmdline", dir);
        f = fopen(file, "we");
        if (f) {
                fputs("nv-preload-probe", f);
                fclose(f);

                setenv("NESTVIRT_ROOT", dir, 1);
                fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
                unsetenv("NESTVIRT_ROOT");
                if (fd >= 0) {
                        (void) !read(fd, cmdline, sizeof(cmdline) - 1);
                        close(fd);
                }
                active = strcmp(cmdline, "nv-preload-probe") == 0 && dlsym(RTLD_DEFAULT, "finit_module");
        }
        (void) unlink(file);
        snprintf(file, sizeof(file), "%s/proc", dir);
        (void) rmdir(file);
        (void) rmdir(dir);
        return active;
}

int main(void)
{
        SRunner *sr;
        int failed;

        if (!preload_active()) {
                fprintf(stderr, "nv-preload.so is not preloaded (LD_PRELOAD=%s); refusing to run.\n",
                        getenv("LD_PRELOAD") ?: "");
                return EXIT_FAILURE;
        }

        sr = srunner_create(preload_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
