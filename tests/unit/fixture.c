/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "fixture.h"
#include "util.h"

static char *global_base = NULL;

static int remove_tree_at(int dirfd, const char *name)
{
        int fd, r = 0;
        struct dirent *de;
        DIR *d;

        /* Never follow links: fixture trees contain them (lib -> usr/lib). */
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOTDIR || errno == ELOOP)
                        return unlinkat(dirfd, name, 0) < 0 ? -errno : 0;
                return errno == ENOENT ? 0 : -errno;
        }

        d = fdopendir(fd);
        if (!d) {
                r = -errno;
                close(fd);
                return r;
        }

        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                int k = remove_tree_at(fd, de->d_name);
                if (k < 0 && r == 0)
                        r = k;
        }
        closedir(d);

        if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && r == 0)
                r = -errno;
        return r;
}

static int remove_tree(const char *path)
{
        return remove_tree_at(AT_FDCWD, path);
}

static char *path_join(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b);
        char *p = malloc(la + 1 + lb + 1);

        if (!p)
                return NULL;
        memcpy(p, a, la);
        p[la] = '/';
        memcpy(p + la + 1, b, lb + 1);
        return p;
}

/* mkdir -p */
static int mkdir_parents(const char *path, bool include_last)
{
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;

        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (include_last && mkdir(p, 0755) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static int write_file(const char *path, const char *content, size_t size, mode_t mode)
{
        _cleanup_close_ int fd = -1;
        size_t done = 0;

        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return -errno;

        while (done < size) {
                ssize_t k = write(fd, content + done, size - done);
                if (k < 0)
                        return -errno;
                done += (size_t) k;
        }
        return 0;
}

int nv_fixture_global_init(void)
{
        _cleanup_free_ char *template = NULL;
        const char *tmp = getenv("TMPDIR");

        if (global_base)
                return 0;

        template = path_join(isempty(tmp) ? "/tmp" : tmp, "nestvirt-unit-XXXXXX");
        if (!template)
                return -ENOMEM;
        if (!mkdtemp(template))
                return -errno;

        global_base = TAKE_PTR(template);
        return 0;
}

void nv_fixture_global_done(void)
{
        if (!global_base)
                return;
        (void) remove_tree(global_base);
        free(global_base);
        global_base = NULL;
}

char *nv_fixture_source_path(const char *rel)
{
        _cleanup_free_ char *fixtures = NULL;
        const char *src = getenv("NESTVIRT_SOURCE_ROOT");

#ifdef NV_SOURCE_ROOT
        if (isempty(src))
                src = NV_SOURCE_ROOT;
#endif
        if (isempty(src)) {
                errno = ENOENT;
                return NULL;
        }

        fixtures = path_join(src, "tests/fixtures");
        if (!fixtures)
                return NULL;
        return path_join(fixtures, rel);
}

#define MAKE_HOST_TIMEOUT_S 100

static double now_s(void)
{
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* Builds host name at root with tests/fixtures/make-host.sh, the builder the bus tier and
 * tools/try.sh use too (it reads the host's FIXTURE). */
static int run_make_host(const char *name, const char *root)
{
        _cleanup_free_ char *script = NULL;
        int status;
        pid_t pid;

        script = nv_fixture_source_path("make-host.sh");
        if (!script)
                return -errno;

        fflush(NULL);
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                /* A process group of its own, so that a timeout ends all of it. */
                (void) setpgid(0, 0);
                /* The tools work on the real system: no redirection from the test preload. */
                unsetenv("LD_PRELOAD");
                unsetenv("NESTVIRT_ROOT");
                execl("/bin/sh", "sh", script, name, root, (char *) NULL);
                _exit(127);
        }

        /* Bounded: a C compiler and depmod per module tree, on a machine that may be loaded. */
        for (double deadline = now_s() + MAKE_HOST_TIMEOUT_S;;) {
                pid_t k = waitpid(pid, &status, WNOHANG);
                if (k < 0 && errno != EINTR)
                        return -errno;
                if (k == pid)
                        break;
                if (now_s() >= deadline) {
                        /* The script and the compiler or depmod it runs. */
                        (void) kill(-pid, SIGKILL);
                        (void) waitpid(pid, &status, 0);
                        fprintf(stderr, "fixture: make-host.sh %s %s did not finish within %d s\n", name,
                                root, MAKE_HOST_TIMEOUT_S);
                        return -ETIMEDOUT;
                }
                (void) usleep(10 * 1000);
        }

        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "fixture: make-host.sh %s %s failed\n", name, root);
                return -EIO;
        }
        return 0;
}

int nv_fixture_new(const char *name, NvFixture **ret)
{
        _cleanup_free_ char *template = NULL;
        NvFixture *f;
        int r;

        r = nv_fixture_global_init();
        if (r < 0)
                return r;

        /* The name of the host in the directory name tells whose tree a failed test left. */
        size_t l = strlen(global_base) + 1 + strlen(name ?: "blank") + sizeof("-XXXXXX");
        template = malloc(l);
        if (!template)
                return -ENOMEM;
        snprintf(template, l, "%s/%s-XXXXXX", global_base, name ?: "blank");
        if (!mkdtemp(template))
                return -errno;

        if (name) {
                r = run_make_host(name, template);
                if (r < 0) {
                        (void) remove_tree(template);
                        return r;
                }
        }

        f = calloc(1, sizeof(*f));
        if (!f || (name && !(f->name = strdup(name)))) {
                free(f);
                (void) remove_tree(template);
                return -ENOMEM;
        }
        f->root = TAKE_PTR(template);

        if (setenv("NESTVIRT_ROOT", f->root, 1) < 0) {
                r = -errno;
                nv_fixture_free(f);
                return r;
        }

        *ret = f;
        return 0;
}

NvFixture *nv_fixture_free(NvFixture *f)
{
        if (!f)
                return NULL;
        unsetenv("NESTVIRT_ROOT");
        if (f->root)
                (void) remove_tree(f->root);
        free(f->root);
        free(f->name);
        free(f);
        return NULL;
}

int nv_fixture_write(NvFixture *f, const char *host_path, const char *content)
{
        _cleanup_free_ char *p = NULL;
        int r;

        if (host_path[0] != '/')
                return -EINVAL;
        p = path_join(f->root, host_path + 1);
        if (!p)
                return -ENOMEM;
        r = mkdir_parents(p, false);
        if (r < 0)
                return r;
        return write_file(p, content, strlen(content), 0644);
}

int nv_fixture_remove(NvFixture *f, const char *host_path)
{
        _cleanup_free_ char *p = NULL;

        if (host_path[0] != '/')
                return -EINVAL;
        p = path_join(f->root, host_path + 1);
        if (!p)
                return -ENOMEM;
        return remove_tree(p);
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int nv_fixture_list_hosts(char ***ret)
{
        _cleanup_free_ char *hosts = NULL;
        _cleanup_strv_free_ char **l = NULL;
        struct dirent *de;
        DIR *d;
        int r = 0;

        hosts = nv_fixture_source_path("hosts");
        if (!hosts)
                return -errno;

        d = opendir(hosts);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                _cleanup_free_ char *p = NULL;
                struct stat st;

                if (de->d_name[0] == '.')
                        continue;
                p = path_join(hosts, de->d_name);
                if (!p) {
                        r = -ENOMEM;
                        break;
                }
                if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode))
                        continue;
                r = strv_extend(&l, de->d_name);
                if (r < 0)
                        break;
        }
        closedir(d);
        if (r < 0)
                return r;

        if (l)
                qsort(l, strv_length(l), sizeof(char *), cmp_str);
        *ret = TAKE_PTR(l);
        return 0;
}

int nv_fixture_run_suite(Suite *s)
{
        SRunner *sr;
        int failed;

        if (nv_fixture_global_init() < 0)
                return EXIT_FAILURE;

        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        nv_fixture_global_done();
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int nv_fixture_run_suite_preloaded(Suite *s)
{
        const char *preload = getenv("LD_PRELOAD");

        if (isempty(preload) || !strstr(preload, "preload")) {
                fprintf(stderr, "%s: run with LD_PRELOAD set to the nv-preload library\n",
                        program_invocation_short_name);
                srunner_free(srunner_create(s));
                return EXIT_FAILURE;
        }
        return nv_fixture_run_suite(s);
}
