/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nv-preload: an LD_PRELOAD library that lets the real libkmod code path run against a fixture root.
 *
 * With NESTVIRT_ROOT=/dir set and non-empty (read on every call, so a test may change it at any
 * time):
 *
 *  - Paths: "/sys/module" and everything under it, "/proc/cmdline" and "/proc/modules" are opened
 *    as "$NESTVIRT_ROOT" + path (open, openat, fopen, stat, lstat, fstatat, access, opendir and
 *    their 64/_2 variants). These are the paths libkmod hard-codes; nothing else is touched.
 *
 *  - Module syscalls (init_module, finit_module, delete_module, also as syscall(__NR_...)) never
 *    reach the kernel. They act on the fixture instead, in the kernel's order of checks:
 *
 *    load:   a fault rule; modules_disabled ("1" in $ROOT/proc/sys/kernel/modules_disabled) →
 *            EPERM; $ROOT/sys/module/NAME exists (loaded, or a built-in's directory) → EEXIST;
 *            a bad "nested" value → EINVAL (ERANGE for an int out of range). Then it creates
 *            sys/module/NAME/{initstate "live\n", refcnt "0\n", holders/, parameters/}, for
 *            kvm_intel parameters/nested "Y\n"/"N\n" (bool, default Y) and for kvm_amd "%d\n"
 *            (int, default 1); appends "NAME SIZE 0 - Live 0x0000000000000000" to proc/modules;
 *            and for the vendor modules links sys/module/kvm/holders/NAME → ../../NAME if kvm is
 *            there. Parameters are the kernel's "a=b c=\"d\"" syntax; the last "nested" wins,
 *            others are ignored. The name comes from the file name for finit_module (kvm-amd.ko.xz
 *            → kvm_amd) and from "name=" in .modinfo for init_module (else ENOEXEC).
 *    unload: a fault rule; modules_disabled → EPERM; no sys/module/NAME, or no initstate in it
 *            (built-in) → ENOENT; holders/ not empty → EAGAIN; initstate not "live" → EBUSY;
 *            refcnt > 0 → EAGAIN (the kernel's EWOULDBLOCK). Then it removes the directory, the
 *            proc/modules line and any sys/module/X/holders/NAME link. Flags (force) are ignored.
 *
 *  - $ROOT/.nv-faults injects failures, one rule a line ('#' starts a comment):
 *        load        MODULE|* ERRNO-NAME [COUNT]   the load fails with ERRNO, nothing changes
 *        unload      MODULE|* ERRNO-NAME [COUNT]   the unload fails with ERRNO, nothing changes
 *        load-wrong  MODULE|* -          [COUNT]   the load succeeds with the opposite "nested"
 *        crash-after load|unload MODULE|* [COUNT]  _exit(99) right after such a successful call
 *    ERRNO-NAME is any name glibc knows (EIO, EBUSY, ...; EWOULDBLOCK means EAGAIN) or a number.
 *    MODULE matches with '-' and '_' equal. The first matching rule of an op wins; a malformed
 *    rule is reported on stderr and ignored. COUNT (default: unlimited) is decremented on each use
 *    by rewriting the file (temp file + rename); a rule that reaches 0 is dropped. A load-wrong
 *    rule is only used up by a load that succeeds.
 *
 *  - Each trapped call appends one line to $ROOT/.nv-trap.log:
 *        load NAME PARAMS -> RESULT       (PARAMS may be empty: "load kvm  -> 0")
 *        unload NAME -> RESULT
 *    RESULT is 0 or the errno name (EEXIST, EAGAIN, ...). NAME is "?" when none could be found.
 *
 * Without NESTVIRT_ROOT, paths pass through and the module syscalls fail with EPERM: this library
 * must never touch the real kernel's modules.
 */

/* Meson passes -D_FILE_OFFSET_BITS=64, which makes glibc's headers turn open/stat/fopen into asm
 * aliases of open64/stat64/fopen64. We define both families, so we need the plain declarations.
 * The fortify inline wrappers (open, openat) would clash with our definitions as well. */
#undef _FILE_OFFSET_BITS
#undef _TIME_BITS
#undef _FORTIFY_SOURCE
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* glibc has no header for these; libkmod links against glibc's init_module/delete_module and
 * reaches finit_module through syscall(). */
int init_module(void *image, unsigned long len, const char *params);
int finit_module(int fd, const char *params, int flags);
int delete_module(const char *name, unsigned int flags);

/* Only declared by glibc's headers under _FORTIFY_SOURCE. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

#define MODULE_NAME_LEN   56 /* as the kernel's, including the NUL */
#define CRASH_EXIT_STATUS 99

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_     __attribute__((unused))

static inline void freep(void *p)
{
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd)
{
        if (*fd >= 0)
                close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void closedirp(DIR **d)
{
        if (*d)
                closedir(*d);
}
#define _cleanup_closedir_ _cleanup_(closedirp)

static inline bool streq(const char *a, const char *b)
{
        return strcmp(a, b) == 0;
}

static inline const char *startswith(const char *s, const char *prefix)
{
        size_t l = strlen(prefix);
        return strncmp(s, prefix, l) == 0 ? s + l : NULL;
}

/* ---- the real functions ---- */

static void *real_symbol(const char *name, void **cache)
{
        void *p = __atomic_load_n(cache, __ATOMIC_ACQUIRE);

        if (!p) {
                p = dlsym(RTLD_NEXT, name);
                if (!p) {
                        /* Nothing sensible to fall back to: calling ourselves would recurse. */
                        fprintf(stderr, "nv-preload: no next definition of %s: %s\n", name, dlerror());
                        abort();
                }
                __atomic_store_n(cache, p, __ATOMIC_RELEASE);
        }
        return p;
}

#define REAL(fn)                                                  \
        ({                                                        \
                static void *_real_cache;                         \
                (__typeof__(&fn)) real_symbol(#fn, &_real_cache); \
        })

/* ---- path redirection ---- */

static const char *nv_root(void)
{
        const char *r = getenv("NESTVIRT_ROOT");
        return r && *r ? r : NULL;
}

static bool path_is_trapped(const char *path)
{
        const char *s;

        if (!path || path[0] != '/')
                return false;

        s = startswith(path, "/sys/module");
        if (s && (*s == '\0' || *s == '/'))
                return true;

        return streq(path, "/proc/cmdline") || streq(path, "/proc/modules");
}

/* Returns path unchanged, or buf holding the rooted path; NULL with errno set if it does not fit. */
static const char *trap_path(const char *path, char buf[static PATH_MAX])
{
        const char *root = nv_root();
        int n;

        if (!root || !path_is_trapped(path))
                return path;

        n = snprintf(buf, PATH_MAX, "%s%s", root, path);
        if (n < 0 || n >= PATH_MAX) {
                errno = ENAMETOOLONG;
                return NULL;
        }
        return buf;
}

static bool open_needs_mode(int flags)
{
        return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

#define GET_MODE(flags, last)                     \
        ({                                        \
                mode_t _m = 0;                    \
                if (open_needs_mode(flags)) {     \
                        va_list _ap;              \
                        va_start(_ap, last);      \
                        _m = va_arg(_ap, mode_t); \
                        va_end(_ap);              \
                }                                 \
                _m;                               \
        })

/* Declares p, the path to use instead of path; NULL (with errno set) when it does not fit. */
#define TRAP_PATH(p, path)      \
        char p##_buf[PATH_MAX]; \
        const char *p = trap_path(path, p##_buf)

int open(const char *path, int flags, ...)
{
        mode_t mode = GET_MODE(flags, flags);
        TRAP_PATH(p, path);
        if (!p)
                return -1;
        return REAL(open)(p, flags, mode);
}

int open64(const char *path, int flags, ...)
{
        mode_t mode = GET_MODE(flags, flags);
        TRAP_PATH(p, path);
        if (!p)
                return -1;
        return REAL(open64)(p, flags, mode);
}

int __open_2(const char *path, int flags)
{
        TRAP_PATH(p, path);
        if (!p)
                return -1;
        return REAL(__open_2)(p, flags);
}

int __open64_2(const char *path, int flags)
{
        TRAP_PATH(p, path);
        if (!p)
                return -1;
        return REAL(__open64_2)(p, flags);
}

int openat(int dirfd, const char *path, int flags, ...)
{
        mode_t mode = GET_MODE(flags, flags);
        TRAP_PATH(p, path);
        if (!p)
                return -1;
        return REAL(openat)(dirfd, p, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
        mode_t mode = GET_MODE(flags, flags);
        TRAP_PATH(p, path);
        if (!p)
                return -1;
        return REAL(openat64)(dirfd, p, flags, mode);
}

int __openat_2(int dirfd, const char *path, int flags)
{
        TRAP_PATH(p, path);
        if (!p)
                return -1;
        return REAL(__openat_2)(dirfd, p, flags);
}

int __openat64_2(int dirfd, const char *path, int flags)
{
        TRAP_PATH(p, path);
        if (!p)
                return -1;
        return REAL(__openat64_2)(dirfd, p, flags);
}

FILE *fopen(const char *path, const char *mode)
{
        TRAP_PATH(p, path);
        if (!p)
                return NULL;
        return REAL(fopen)(p, mode);
}

FILE *fopen64(const char *path, const char *mode)
{
        TRAP_PATH(p, path);
        if (!p)
                return NULL;
        return REAL(fopen64)(p, mode);
}

int stat(const char *path, struct stat *st)
{
        TRAP_PATH(p, path);
        if (!p)
                return -1;
        return REAL(stat)(p, st);
}

int stat64(const char *path, struct stat64 *st)
{
        TRAP_PATH(p, path);
        if (!p)
                return -1;
        return REAL(stat64)(p, st);
}

int lstat(const char *path, struct stat *st)
{
        TRAP_PATH(p, path);
        if (!p)
                return -1;
        return REAL(lstat)(p, st);
}

int lstat64(const char *path, struct stat64 *st)
{
        TRAP_PATH(p, path);
        if (!p)
                return -1;
        return REAL(lstat64)(p, st);
}

int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
        TRAP_PATH(p, path);
        if (!p)
                return -1;
        return REAL(fstatat)(dirfd, p, st, flags);
}

int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags)
{
        TRAP_PATH(p, path);
        if (!p)
                return -1;
        return REAL(fstatat64)(dirfd, p, st, flags);
}

int access(const char *path, int mode)
{
        TRAP_PATH(p, path);
        if (!p)
                return -1;
        return REAL(access)(p, mode);
}

DIR *opendir(const char *path)
{
        TRAP_PATH(p, path);
        if (!p)
                return NULL;
        return REAL(opendir)(p);
}

/* ---- small file helpers on the fixture (all paths here are already rooted) ---- */

static char *root_path(const char *root, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *root_path(const char *root, const char *fmt, ...)
{
        _cleanup_free_ char *rel = NULL;
        char *p;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&rel, fmt, ap);
        va_end(ap);
        if (r < 0) {
                rel = NULL;
                return NULL;
        }
        if (asprintf(&p, "%s%s", root, rel) < 0)
                return NULL;
        return p;
}

static int read_full(const char *path, char **ret, size_t *ret_size)
{
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, allocated = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;

        for (;;) {
                ssize_t n;

                if (allocated - size < 1024) {
                        char *b = realloc(buf, allocated + 4096);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                        allocated += 4096;
                }
                n = read(fd, buf + size, allocated - size - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                size += (size_t) n;
        }
        buf[size] = '\0';

        *ret = buf;
        buf = NULL;
        if (ret_size)
                *ret_size = size;
        return 0;
}

static int write_all(int fd, const char *s, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, s, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                s += n;
                len -= (size_t) n;
        }
        return 0;
}

static int write_file(const char *path, const char *content, int extra_flags)
{
        _cleanup_close_ int fd = -EBADF;

        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | extra_flags, 0644);
        if (fd < 0)
                return -errno;
        return write_all(fd, content, strlen(content));
}

/* Replaces path with content: readers never see a half-written file. */
static int write_file_atomic(const char *path, const char *content)
{
        _cleanup_free_ char *tmp = NULL;
        int r;

        if (asprintf(&tmp, "%s.nv-tmp.%ld", path, (long) getpid()) < 0)
                return -ENOMEM;
        r = write_file(tmp, content, O_TRUNC);
        if (r >= 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                (void) unlink(tmp);
        return r;
}

static int mkdir_p(const char *path, mode_t mode)
{
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static int rm_rf_one(
        const char *path, _unused_ const struct stat *st, _unused_ int type, _unused_ struct FTW *ftw)
{
        return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static int rm_rf(const char *path)
{
        /* FTW_PHYS: holders/ contains symlinks to other modules, never follow them. */
        if (nftw(path, rm_rf_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
                return errno == ENOENT ? 0 : -errno;
        return 0;
}

/* ---- errno names ---- */

static const char *errno_name(int error, char buf[static 16])
{
        const char *n;

        if (error == 0)
                return "0";
        n = strerrorname_np(error);
        if (n)
                return n;
        snprintf(buf, 16, "%d", error);
        return buf;
}

static int errno_from_name(const char *s)
{
        static const struct {
                const char *alias, *name;
        } aliases[] = {
                { "EWOULDBLOCK", "EAGAIN" },
                { "EDEADLOCK", "EDEADLK" },
                { "ENOTSUP", "EOPNOTSUPP" },
        };
        char *end;
        long l;

        for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
                if (streq(s, aliases[i].alias))
                        s = aliases[i].name;

        for (int e = 1; e < 4096; e++) {
                const char *n = strerrorname_np(e);
                if (n && streq(n, s))
                        return e;
        }

        /* A plain number is fine too. */
        errno = 0;
        l = strtol(s, &end, 10);
        if (errno == 0 && end != s && *end == '\0' && l > 0 && l < 4096)
                return (int) l;
        return -EINVAL;
}

/* ---- fault injection ---- */

typedef struct FaultRule {
        char *op; /* "load", "unload", "load-wrong", "crash-after unload", ... */
        char *module; /* normalised to '_', or "*" */
        char *arg; /* the errno field, NULL for crash-after */
        unsigned long count;
        bool limited;
} FaultRule;

static void fault_rule_done(FaultRule *f)
{
        free(f->op);
        free(f->module);
        free(f->arg);
}

static void module_name_normalize(char *s)
{
        for (; *s; s++)
                if (*s == '-')
                        *s = '_';
}

/* Parses one line. Returns 1 with a rule, 0 for blank/comment lines, negative errno when malformed. */
static int fault_rule_parse(const char *line, FaultRule *ret)
{
        _cleanup_free_ char *copy = strdup(line);
        char *tok[6], *state = NULL, *count = NULL;
        size_t n = 0;
        FaultRule f = {};

        if (!copy)
                return -ENOMEM;
        for (char *t = strtok_r(copy, " \t\r\n", &state); t; t = strtok_r(NULL, " \t\r\n", &state)) {
                if (n >= sizeof(tok) / sizeof(tok[0]))
                        return -EINVAL;
                tok[n++] = t;
        }
        if (n == 0 || tok[0][0] == '#')
                return 0;

        if (streq(tok[0], "crash-after")) {
                /* crash-after load|unload MODULE [COUNT] */
                if (n < 3 || n > 4 || !(streq(tok[1], "load") || streq(tok[1], "unload")))
                        return -EINVAL;
                if (asprintf(&f.op, "crash-after %s", tok[1]) < 0)
                        return -ENOMEM;
                f.module = strdup(tok[2]);
                count = n == 4 ? tok[3] : NULL;
        } else {
                /* OP MODULE ERRNO [COUNT] */
                if (n < 3 || n > 4 ||
                        !(streq(tok[0], "load") || streq(tok[0], "unload") || streq(tok[0], "load-wrong")))
                        return -EINVAL;
                if (!streq(tok[0], "load-wrong") && errno_from_name(tok[2]) < 0)
                        return -EINVAL;
                f.op = strdup(tok[0]);
                f.module = strdup(tok[1]);
                f.arg = strdup(tok[2]);
                if (!f.op || !f.arg) {
                        fault_rule_done(&f);
                        return -ENOMEM;
                }
                count = n == 4 ? tok[3] : NULL;
        }
        if (!f.op || !f.module) {
                fault_rule_done(&f);
                return -ENOMEM;
        }
        module_name_normalize(f.module);

        if (count) {
                char *end;

                errno = 0;
                f.count = strtoul(count, &end, 10);
                if (errno != 0 || end == count || *end != '\0' || count[0] == '-') {
                        fault_rule_done(&f);
                        return -EINVAL;
                }
                f.limited = true;
        }

        *ret = f;
        return 1;
}

/*
 * Looks for the first live rule for op and module. If there is one, uses it up (rewriting the file
 * when it has a count) and returns 1, with the errno of a load/unload rule in *ret_error.
 * Returns 0 when no rule applies.
 */
static int fault_take(const char *root, const char *op, const char *module, int *ret_error)
{
        _cleanup_free_ char *path = NULL, *content = NULL, *rewritten = NULL;
        _cleanup_close_ int lock_fd = -EBADF;
        size_t rewritten_size = 0;
        FILE *out;
        bool found = false;
        int r;

        path = root_path(root, "/.nv-faults");
        if (!path)
                return -ENOMEM;

        /* Serialise the read-modify-write against other trapped processes on this root. The file
         * itself is replaced by rename(), so lock the root directory instead. */
        lock_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (lock_fd >= 0)
                (void) flock(lock_fd, LOCK_EX);

        r = read_full(path, &content, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;

        out = open_memstream(&rewritten, &rewritten_size);
        if (!out)
                return -ENOMEM;

        for (char *line = content, *next; line && *line; line = next) {
                FaultRule f;

                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';

                if (found) {
                        fprintf(out, "%s\n", line);
                        continue;
                }

                r = fault_rule_parse(line, &f);
                /* Each trapped call scans the file several times; complain on its first scan only. */
                if (r < 0 && (streq(op, "load") || streq(op, "unload")))
                        fprintf(stderr, "nv-preload: ignoring malformed line in %s: %s\n", path, line);
                if (r <= 0 || !streq(f.op, op) || !(streq(f.module, "*") || streq(f.module, module)) ||
                        (f.limited && f.count == 0)) {
                        if (r > 0)
                                fault_rule_done(&f);
                        fprintf(out, "%s\n", line);
                        continue;
                }

                found = true;
                if (ret_error)
                        *ret_error = f.arg && !streq(f.op, "load-wrong") ? errno_from_name(f.arg) : 0;

                if (!f.limited)
                        fprintf(out, "%s\n", line);
                else if (f.count > 1) {
                        if (f.arg)
                                fprintf(out, "%s %s %s %lu\n", f.op, f.module, f.arg, f.count - 1);
                        else
                                fprintf(out, "%s %s %lu\n", f.op, f.module, f.count - 1);
                }
                fault_rule_done(&f);

                /* An unlimited rule leaves the file as it is. */
                if (!f.limited) {
                        fclose(out);
                        return 1;
                }
        }

        if (fclose(out) != 0)
                return -ENOMEM;
        if (!found)
                return 0;

        r = write_file_atomic(path, rewritten);
        if (r < 0)
                fprintf(stderr, "nv-preload: cannot rewrite %s: %s\n", path, strerror(-r));
        return 1;
}

/* ---- the trap log ---- */

static void trap_log(const char *root, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void trap_log(const char *root, const char *fmt, ...)
{
        _cleanup_free_ char *path = NULL, *line = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&line, fmt, ap);
        va_end(ap);
        if (r < 0) {
                line = NULL;
                return;
        }

        path = root_path(root, "/.nv-trap.log");
        if (!path)
                return;
        /* One write() with O_APPEND, so lines from several processes do not interleave. */
        (void) write_file(path, line, O_APPEND);
}

/* ---- the simulated kernel ---- */

typedef enum ParamType {
        PARAM_NONE,
        PARAM_BOOL, /* kvm_intel: module_param(nested, bool, ...) */
        PARAM_INT, /* kvm_amd: module_param(nested, int, ...) */
} ParamType;

static ParamType nested_param_type(const char *module)
{
        if (streq(module, "kvm_intel"))
                return PARAM_BOOL;
        if (streq(module, "kvm_amd"))
                return PARAM_INT;
        return PARAM_NONE;
}

static bool module_name_valid(const char *name)
{
        size_t l = strlen(name);

        if (l == 0 || l >= MODULE_NAME_LEN)
                return false;
        /* We build paths from it, so be strict. */
        for (const char *s = name; *s; s++)
                if (!isalnum((unsigned char) *s) && *s != '_')
                        return false;
        return true;
}

static bool modules_disabled(const char *root)
{
        _cleanup_free_ char *path = NULL, *s = NULL;

        path = root_path(root, "/proc/sys/kernel/modules_disabled");
        if (!path || read_full(path, &s, NULL) < 0)
                return false;
        return s[0] == '1';
}

/* Parameter names compare with '-' and '_' equal, as the kernel's parameq(). */
static bool param_eq(const char *a, const char *b)
{
        for (;; a++, b++) {
                char x = *a == '-' ? '_' : *a, y = *b == '-' ? '_' : *b;
                if (x != y)
                        return false;
                if (x == '\0')
                        return true;
        }
}

/*
 * Splits off the next word of a kernel parameter string, as the kernel's next_arg(): words are
 * separated by whitespace, double quotes group (around the whole word or the value) and are not
 * part of the value. *ret_value is NULL for a word without '='. Returns the rest of the string.
 */
static char *next_param(char *s, char **ret_name, char **ret_value)
{
        bool in_quote = false, quoted = false;
        char *eq = NULL, *p, *last;

        while (isspace((unsigned char) *s))
                s++;
        if (*s == '"') {
                s++;
                in_quote = quoted = true;
        }

        for (p = s; *p; p++) {
                if (isspace((unsigned char) *p) && !in_quote)
                        break;
                if (!eq && *p == '=')
                        eq = p;
                if (*p == '"')
                        in_quote = !in_quote;
        }
        last = p > s ? p - 1 : NULL;

        *ret_name = s;
        *ret_value = NULL;
        if (eq) {
                *eq = '\0';
                *ret_value = eq + 1;
                if (**ret_value == '"') {
                        (*ret_value)++;
                        if (last && *last == '"')
                                *last = '\0';
                }
        }
        if (quoted && last && *last == '"')
                *last = '\0';

        if (*p)
                *p++ = '\0';
        return p;
}

static int parse_bool(const char *v, bool *ret)
{
        /* A bare "nested" sets a bool parameter to true. */
        if (!v) {
                *ret = true;
                return 0;
        }
        if (streq(v, "y") || streq(v, "Y") || streq(v, "1") || strcasecmp(v, "on") == 0) {
                *ret = true;
                return 0;
        }
        if (streq(v, "n") || streq(v, "N") || streq(v, "0") || strcasecmp(v, "off") == 0) {
                *ret = false;
                return 0;
        }
        return -EINVAL;
}

static int parse_int(const char *v, int *ret)
{
        char *end;
        long l;

        /* An int parameter needs a value; the kernel's kstrtoint() takes no leading space. */
        if (!v || !*v || isspace((unsigned char) v[0]))
                return -EINVAL;

        errno = 0;
        l = strtol(v, &end, 0);
        if (end == v)
                return -EINVAL;
        if (*end == '\n') /* kstrtoint() allows one trailing newline */
                end++;
        if (*end != '\0')
                return -EINVAL;
        if (errno == ERANGE || l < INT_MIN || l > INT_MAX)
                return -ERANGE;

        *ret = (int) l;
        return 0;
}

/* Works out what parameters/nested will contain after loading module with params. */
static int nested_value(const char *module, const char *params, bool invert, char ret[static 16])
{
        ParamType type = nested_param_type(module);
        _cleanup_free_ char *copy = NULL;
        const char *value = NULL;
        bool given = false;
        int r;

        if (type == PARAM_NONE)
                return 0;

        copy = strdup(params);
        if (!copy)
                return -ENOMEM;

        /* The last occurrence wins, as when the kernel applies them in order; others are ignored
         * like the kernel ignores unknown parameters. */
        for (char *p = copy; *p;) {
                char *name, *v;

                p = next_param(p, &name, &v);
                if (*name && param_eq(name, "nested")) {
                        given = true;
                        value = v;
                }
        }

        if (type == PARAM_BOOL) {
                bool b = true;

                if (given) {
                        r = parse_bool(value, &b);
                        if (r < 0)
                                return r;
                }
                snprintf(ret, 16, "%s\n", b != invert ? "Y" : "N");
        } else {
                int i = 1;

                if (given) {
                        r = parse_int(value, &i);
                        if (r < 0)
                                return r;
                }
                if (invert)
                        i = !i;
                snprintf(ret, 16, "%d\n", i);
        }
        return 0;
}

static int proc_modules_add(const char *root, const char *name, unsigned long size)
{
        _cleanup_free_ char *dir = NULL, *path = NULL, *line = NULL;
        int r;

        dir = root_path(root, "/proc");
        path = root_path(root, "/proc/modules");
        if (!dir || !path)
                return -ENOMEM;
        r = mkdir_p(dir, 0755);
        if (r < 0)
                return r;

        if (asprintf(&line, "%s %lu 0 - Live 0x0000000000000000\n", name, size) < 0)
                return -ENOMEM;
        return write_file(path, line, O_APPEND);
}

static int proc_modules_remove(const char *root, const char *name)
{
        _cleanup_free_ char *path = NULL, *content = NULL;
        size_t l = strlen(name);
        char *out;
        int r;

        path = root_path(root, "/proc/modules");
        if (!path)
                return -ENOMEM;
        r = read_full(path, &content, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;

        /* Filter in place: the output never gets ahead of the input. */
        out = content;
        for (char *line = content, *next; *line; line = next) {
                size_t len;

                next = strchr(line, '\n');
                next = next ? next + 1 : line + strlen(line);
                len = (size_t) (next - line);

                if (strncmp(line, name, l) == 0 && (line[l] == ' ' || line[l] == '\n' || line[l] == '\0'))
                        continue;
                memmove(out, line, len);
                out += len;
        }
        *out = '\0';

        return write_file_atomic(path, content);
}

static int do_load(const char *root, const char *name, const char *params, unsigned long size)
{
        _cleanup_free_ char *dir = NULL, *p = NULL;
        char nested[16] = "";
        bool invert = false;
        int error = 0, r;

        r = fault_take(root, "load", name, &error);
        if (r < 0)
                return r;
        if (r > 0)
                return -error;

        if (modules_disabled(root))
                return -EPERM;

        dir = root_path(root, "/sys/module/%s", name);
        if (!dir)
                return -ENOMEM;
        /* Live, coming or going: the kernel says EEXIST. A directory without initstate is a
         * built-in module, which cannot be loaded a second time either. */
        if (access(dir, F_OK) >= 0)
                return -EEXIST;

        /* Parameters are checked before anything is created, as a failing load leaves no trace. */
        r = nested_value(name, params, false, nested);
        if (r < 0)
                return r;

        r = fault_take(root, "load-wrong", name, NULL);
        if (r < 0)
                return r;
        if (r > 0) {
                invert = true;
                r = nested_value(name, params, invert, nested);
                if (r < 0)
                        return r;
        }

        r = mkdir_p(dir, 0755);
        if (r < 0)
                return r;

#define PATH_IN_DIR(rel)                                 \
        ({                                               \
                free(p);                                 \
                p = NULL;                                \
                if (asprintf(&p, "%s/%s", dir, rel) < 0) \
                        return -ENOMEM;                  \
                p;                                       \
        })

        if (mkdir(PATH_IN_DIR("holders"), 0755) < 0 && errno != EEXIST)
                return -errno;
        if (mkdir(PATH_IN_DIR("parameters"), 0755) < 0 && errno != EEXIST)
                return -errno;
        if (nested[0]) {
                r = write_file(PATH_IN_DIR("parameters/nested"), nested, O_TRUNC);
                if (r < 0)
                        return r;
        }
        r = write_file(PATH_IN_DIR("refcnt"), "0\n", O_TRUNC);
        if (r < 0)
                return r;
        /* Last, so that a reader that sees "live" sees the rest too. */
        r = write_file(PATH_IN_DIR("initstate"), "live\n", O_TRUNC);
        if (r < 0)
                return r;
#undef PATH_IN_DIR

        r = proc_modules_add(root, name, size);
        if (r < 0)
                return r;

        /* The vendor modules use kvm's symbols: the kernel lists them as kvm's holders. */
        if (nested_param_type(name) != PARAM_NONE) {
                _cleanup_free_ char *kvm = root_path(root, "/sys/module/kvm"), *link = NULL, *target = NULL;

                if (kvm && access(kvm, F_OK) >= 0 && asprintf(&link, "%s/holders/%s", kvm, name) >= 0 &&
                        asprintf(&target, "../../%s", name) >= 0)
                        (void) symlink(target, link);
        }

        return 0;
}

static bool dir_is_empty(const char *path)
{
        _cleanup_closedir_ DIR *d = opendir(path);
        struct dirent *de;

        if (!d)
                return true;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        return false;
        return true;
}

/* Drops the holders/NAME links that other modules have to this one. */
static void holder_links_remove(const char *root, const char *name)
{
        _cleanup_free_ char *sys_module = root_path(root, "/sys/module");
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        if (!sys_module)
                return;
        d = opendir(sys_module);
        if (!d)
                return;
        while ((de = readdir(d))) {
                _cleanup_free_ char *link = NULL;
                struct stat st;

                if (de->d_name[0] == '.')
                        continue;
                if (asprintf(&link, "%s/%s/holders/%s", sys_module, de->d_name, name) < 0)
                        return;
                if (lstat(link, &st) >= 0 && S_ISLNK(st.st_mode))
                        (void) unlink(link);
        }
}

static int do_unload(const char *root, const char *name)
{
        _cleanup_free_ char *dir = NULL, *initstate = NULL, *holders = NULL, *refcnt = NULL, *state = NULL,
                            *count = NULL;
        struct stat st;
        int error = 0, r;

        r = fault_take(root, "unload", name, &error);
        if (r < 0)
                return r;
        if (r > 0)
                return -error;

        if (modules_disabled(root))
                return -EPERM;

        if (!module_name_valid(name))
                return -ENOENT;

        dir = root_path(root, "/sys/module/%s", name);
        initstate = root_path(root, "/sys/module/%s/initstate", name);
        holders = root_path(root, "/sys/module/%s/holders", name);
        refcnt = root_path(root, "/sys/module/%s/refcnt", name);
        if (!dir || !initstate || !holders || !refcnt)
                return -ENOMEM;

        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
                return -ENOENT;
        /* Built-in modules have a directory but are not in the kernel's module list. */
        r = read_full(initstate, &state, NULL);
        if (r == -ENOENT)
                return -ENOENT;
        if (r < 0)
                return r;

        /* The kernel's order: users first, then state, then the reference count. EAGAIN is
         * EWOULDBLOCK, the kernel's answer to an O_NONBLOCK removal of a module in use. */
        if (!dir_is_empty(holders))
                return -EAGAIN;
        if (!startswith(state, "live"))
                return -EBUSY;
        if (read_full(refcnt, &count, NULL) >= 0 && strtol(count, NULL, 10) > 0)
                return -EAGAIN;

        r = rm_rf(dir);
        if (r < 0)
                return r;
        (void) proc_modules_remove(root, name);
        holder_links_remove(root, name);
        return 0;
}

static void maybe_crash(const char *root, const char *op, const char *name)
{
        _cleanup_free_ char *key = NULL;

        if (asprintf(&key, "crash-after %s", op) < 0)
                return;
        if (fault_take(root, key, name, NULL) > 0)
                _exit(CRASH_EXIT_STATUS);
}

static int trap_load(const char *name, int name_error, const char *params, unsigned long size)
{
        const char *root = nv_root();
        char buf[16];
        int r;

        if (!root)
                return -EPERM;
        if (!params)
                params = "";

        r = name_error < 0 ? name_error : do_load(root, name, params, size);
        trap_log(root, "load %s %s -> %s\n", name, params, errno_name(-r, buf));
        if (r >= 0)
                maybe_crash(root, "load", name);
        return r;
}

static int trap_unload(const char *name)
{
        const char *root = nv_root();
        char buf[16];
        int r;

        if (!root)
                return -EPERM;
        if (!name)
                return -EFAULT;

        r = do_unload(root, name);
        trap_log(root, "unload %s -> %s\n", name, errno_name(-r, buf));
        if (r >= 0)
                maybe_crash(root, "unload", name);
        return r;
}

/* kvm-amd.ko.xz → kvm_amd, as the kernel would read it from the module itself. */
static int name_from_fd(int fd, char ret[static MODULE_NAME_LEN])
{
        char link[32], target[PATH_MAX];
        const char *base;
        char name[PATH_MAX];
        ssize_t n;
        char *dot;

        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        n = readlink(link, target, sizeof(target) - 1);
        if (n < 0)
                return fd < 0 || errno == ENOENT ? -EBADF : -errno;
        target[n] = '\0';

        base = strrchr(target, '/');
        base = base ? base + 1 : target;
        snprintf(name, sizeof(name), "%s", base);

        dot = strrchr(name, '.');
        if (dot && (streq(dot, ".xz") || streq(dot, ".zst") || streq(dot, ".gz")))
                *dot = '\0';
        dot = strrchr(name, '.');
        if (dot && streq(dot, ".ko"))
                *dot = '\0';
        module_name_normalize(name);

        if (!module_name_valid(name))
                return -ENOEXEC;
        memcpy(ret, name, strlen(name) + 1); /* fits: module_name_valid() checked the length */
        return 0;
}

/* The .modinfo section holds NUL-separated "key=value" strings, one of them "name=<module>". */
static int name_from_image(const void *image, unsigned long len, char ret[static MODULE_NAME_LEN])
{
        const char *b = image;
        static const char key[] = "name=";
        const size_t kl = sizeof(key) - 1;

        if (!image)
                return -EFAULT;

        for (unsigned long i = 0; i + kl < len; i++) {
                unsigned long j;
                size_t l = 0;

                if ((i > 0 && b[i - 1] != '\0') || memcmp(b + i, key, kl) != 0)
                        continue;
                for (j = i + kl; j < len && b[j] != '\0' && l < MODULE_NAME_LEN - 1; j++)
                        ret[l++] = b[j];
                ret[l] = '\0';
                if (j < len && b[j] == '\0' && module_name_valid(ret))
                        return 0;
        }
        return -ENOEXEC;
}

static int trap_init_module(void *image, unsigned long len, const char *params)
{
        char name[MODULE_NAME_LEN] = "?";
        int r;

        if (!nv_root())
                return -EPERM;
        r = name_from_image(image, len, name);
        if (r < 0)
                snprintf(name, sizeof(name), "?");
        return trap_load(name, r, params, len);
}

static int trap_finit_module(int fd, const char *params, _unused_ int flags)
{
        char name[MODULE_NAME_LEN] = "?";
        struct stat st;
        int r;

        if (!nv_root())
                return -EPERM;
        r = name_from_fd(fd, name);
        if (r < 0)
                snprintf(name, sizeof(name), "?");
        return trap_load(name, r, params, fstat(fd, &st) >= 0 ? (unsigned long) st.st_size : 0);
}

static int result(int r)
{
        if (r < 0) {
                errno = -r;
                return -1;
        }
        return 0;
}

int init_module(void *image, unsigned long len, const char *params)
{
        return result(trap_init_module(image, len, params));
}

int finit_module(int fd, const char *params, int flags)
{
        return result(trap_finit_module(fd, params, flags));
}

int delete_module(const char *name, _unused_ unsigned int flags)
{
        return result(trap_unload(name));
}

long syscall(long number, ...)
{
        long a[6];
        va_list ap;

        /* Like glibc's syscall(): the callee cannot know how many arguments there are, so take six;
         * the extra ones are never looked at by the kernel. */
        va_start(ap, number);
        for (size_t i = 0; i < 6; i++)
                a[i] = va_arg(ap, long);
        va_end(ap);

        switch (number) {
        case __NR_init_module:
                return result(trap_init_module((void *) a[0], (unsigned long) a[1], (const char *) a[2]));
        case __NR_finit_module:
                return result(trap_finit_module((int) a[0], (const char *) a[1], (int) a[2]));
        case __NR_delete_module:
                return result(trap_unload((const char *) a[0]));
        default:
                return REAL(syscall)(number, a[0], a[1], a[2], a[3], a[4], a[5]);
        }
}
