/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>

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

static int read_file(const char *path, char **ret, size_t *ret_size)
{
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, allocated = 0;

        f = fopen(path, "re");
        if (!f)
                return -errno;

        for (;;) {
                if (allocated - size < 4096) {
                        allocated = allocated * 2 + 4096;
                        char *m = realloc(buf, allocated + 1);
                        if (!m)
                                return -ENOMEM;
                        buf = m;
                }
                size_t k = fread(buf + size, 1, allocated - size, f);
                size += k;
                if (k == 0) {
                        if (ferror(f))
                                return -EIO;
                        break;
                }
        }

        buf[size] = 0;
        if (ret_size)
                *ret_size = size;
        *ret = TAKE_PTR(buf);
        return 0;
}

/* Copies the tree at src into dst (which exists), keeping symlinks as they are. top: skip the
 * fixture's description file. */
static int copy_tree(const char *src, const char *dst, bool top)
{
        DIR *d;
        struct dirent *de;
        int r = 0;

        d = opendir(src);
        if (!d)
                return -errno;

        while ((de = readdir(d))) {
                _cleanup_free_ char *s = NULL, *t = NULL, *content = NULL;
                struct stat st;
                size_t size;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (top && streq(de->d_name, "FIXTURE"))
                        continue;

                s = path_join(src, de->d_name);
                t = path_join(dst, de->d_name);
                if (!s || !t) {
                        r = -ENOMEM;
                        break;
                }

                if (lstat(s, &st) < 0) {
                        r = -errno;
                        break;
                }

                if (S_ISDIR(st.st_mode)) {
                        if (mkdir(t, 0755) < 0 && errno != EEXIST) {
                                r = -errno;
                                break;
                        }
                        r = copy_tree(s, t, false);
                } else if (S_ISLNK(st.st_mode)) {
                        char target[PATH_MAX];
                        ssize_t l = readlink(s, target, sizeof(target) - 1);
                        if (l < 0) {
                                r = -errno;
                                break;
                        }
                        target[l] = 0;
                        r = symlink(target, t) < 0 ? -errno : 0;
                } else if (S_ISREG(st.st_mode)) {
                        r = read_file(s, &content, &size);
                        if (r >= 0)
                                r = write_file(t, content, size, st.st_mode & 0777);
                }
                if (r < 0)
                        break;
        }

        closedir(d);
        return r;
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

typedef struct ModuleTree {
        char *release;
        char *loadable;
        char *builtin;
} ModuleTree;

/* Appends words to a blank-separated list. */
static int append_words(char **list, const char *words)
{
        size_t a = *list ? strlen(*list) : 0, b = strlen(words);
        char *m = realloc(*list, a + 1 + b + 1);

        if (!m)
                return -ENOMEM;
        if (a > 0)
                m[a++] = ' ';
        memcpy(m + a, words, b + 1);
        *list = m;
        return 0;
}

static int run_make_module_tree(const char *root, const ModuleTree *t)
{
        _cleanup_free_ char *script = NULL;
        int status;
        pid_t pid;

        script = nv_fixture_source_path("make-module-tree.sh");
        if (!script)
                return -errno;

        fflush(NULL);
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                /* The tools work on the real system: no redirection from the test preload. */
                unsetenv("LD_PRELOAD");
                unsetenv("NESTVIRT_ROOT");
                execl("/bin/sh", "sh", script, root, t->release, strempty(t->loadable), strempty(t->builtin),
                        (char *) NULL);
                _exit(127);
        }

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;

        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "fixture: make-module-tree.sh %s %s failed\n", root, t->release);
                return -EIO;
        }
        return 0;
}

static int add_holder(const char *root, const char *module, const char *holder)
{
        _cleanup_free_ char *dir = NULL, *link = NULL, *target = NULL;
        char rel[PATH_MAX];
        int r;

        if (snprintf(rel, sizeof(rel), "sys/module/%s/holders", module) >= (int) sizeof(rel))
                return -ENAMETOOLONG;
        dir = path_join(root, rel);
        if (!dir)
                return -ENOMEM;
        r = mkdir_parents(dir, true);
        if (r < 0)
                return r;

        link = path_join(dir, holder);
        target = path_join("../..", holder);
        if (!link || !target)
                return -ENOMEM;
        return symlink(target, link) < 0 ? -errno : 0;
}

/* Every loaded module has a holders/ directory in sysfs; git cannot keep it empty. */
static int add_holders_dirs(const char *root)
{
        _cleanup_free_ char *modules = path_join(root, "sys/module");
        struct dirent *de;
        DIR *d;
        int r = 0;

        if (!modules)
                return -ENOMEM;

        d = opendir(modules);
        if (!d)
                return errno == ENOENT ? 0 : -errno;

        while ((de = readdir(d))) {
                _cleanup_free_ char *m = NULL, *initstate = NULL, *holders = NULL;

                if (de->d_name[0] == '.')
                        continue;
                m = path_join(modules, de->d_name);
                if (!m) {
                        r = -ENOMEM;
                        break;
                }
                initstate = path_join(m, "initstate");
                holders = path_join(m, "holders");
                if (!initstate || !holders) {
                        r = -ENOMEM;
                        break;
                }
                if (access(initstate, F_OK) < 0)
                        continue;
                if (mkdir(holders, 0755) < 0 && errno != EEXIST) {
                        r = -errno;
                        break;
                }
        }

        closedir(d);
        return r;
}

static char *strip(char *s)
{
        s += strspn(s, " \t");
        return strstrip_end(s);
}

static int apply_description(const char *src, const char *root)
{
        _cleanup_free_ char *desc_path = NULL, *desc = NULL, *osrelease_path = NULL, *osrelease = NULL;
        ModuleTree trees[4] = {};
        size_t n_trees = 0;
        int r;

        desc_path = path_join(src, "FIXTURE");
        if (!desc_path)
                return -ENOMEM;
        r = read_file(desc_path, &desc, NULL);
        if (r == -ENOENT)
                return add_holders_dirs(root);
        if (r < 0)
                return r;

        osrelease_path = path_join(root, "proc/sys/kernel/osrelease");
        if (!osrelease_path)
                return -ENOMEM;
        if (read_file(osrelease_path, &osrelease, NULL) >= 0)
                strip(osrelease);

        for (char *line = strtok(desc, "\n"); line; line = strtok(NULL, "\n")) {
                char *colon, *key, *value;

                line = strip(line);
                if (line[0] == 0 || line[0] == '#')
                        continue;
                colon = strchr(line, ':');
                if (!colon) {
                        r = -EINVAL;
                        goto finish;
                }
                *colon = 0;
                key = strip(line);
                value = strip(colon + 1);

                if (streq(key, "release") || streq(key, "loadable") || streq(key, "builtin")) {
                        bool new_tree = streq(key, "release") || n_trees == 0;
                        if (new_tree) {
                                const char *rel = streq(key, "release") ? value : osrelease;
                                if (n_trees >= ELEMENTSOF(trees) || isempty(rel)) {
                                        r = -EINVAL;
                                        goto finish;
                                }
                                trees[n_trees].release = strdup(rel);
                                if (!trees[n_trees].release) {
                                        r = -ENOMEM;
                                        goto finish;
                                }
                                n_trees++;
                        }
                        if (streq(key, "loadable"))
                                r = append_words(&trees[n_trees - 1].loadable, value);
                        else if (streq(key, "builtin"))
                                r = append_words(&trees[n_trees - 1].builtin, value);
                } else if (streq(key, "holder")) {
                        char *module = value, *holder = value + strcspn(value, " \t");
                        if (*holder == 0) {
                                r = -EINVAL;
                                goto finish;
                        }
                        *holder++ = 0;
                        r = add_holder(root, module, strip(holder));
                } else if (streq(key, "dir")) {
                        _cleanup_free_ char *p = path_join(root, value);
                        r = p ? mkdir_parents(p, true) : -ENOMEM;
                } else
                        r = -EINVAL;
                if (r < 0)
                        goto finish;
        }

        r = add_holders_dirs(root);
        for (size_t i = 0; r >= 0 && i < n_trees; i++)
                r = run_make_module_tree(root, trees + i);

finish:
        for (size_t i = 0; i < n_trees; i++) {
                free(trees[i].release);
                free(trees[i].loadable);
                free(trees[i].builtin);
        }
        return r;
}

int nv_fixture_new(const char *name, NvFixture **ret)
{
        _cleanup_free_ char *template = NULL, *src = NULL, *hosts = NULL;
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
                hosts = nv_fixture_source_path("hosts");
                if (!hosts)
                        r = -errno;
                else {
                        src = path_join(hosts, name);
                        r = src ? copy_tree(src, template, true) : -ENOMEM;
                }
                if (r >= 0)
                        r = apply_description(src, template);
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
