/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "module-facts.h"

static bool isolated = false;

void nv_module_facts_isolate(bool isolate)
{
        isolated = isolate;
}

void nv_module_facts_done(NvModuleFacts *f)
{
        assert(f);
        nv_nested_config_done(&f->config);
        *f = (NvModuleFacts){};
}

static int read_here(const char *release, const char *module, NvNested kernel_default, NvModuleFacts *ret)
{
        _cleanup_(sym_kmod_unrefp) struct kmod_ctx *ctx = NULL;
        NvModuleFacts f = {};
        int r;

        r = nv_kmod_new(release, &ctx);
        if (r < 0)
                return r;
        r = nv_module_get_state(ctx, module, &f.state, &f.refcnt);
        if (r < 0)
                return r;
        /* The state stands without the configuration, as the host's other facts do. */
        f.config_error =
                nv_nested_config_read(module, f.state == NV_MODULE_BUILTIN, kernel_default, &f.config);
        if (f.config_error > 0)
                f.config_error = 0;
        *ret = f;
        return 0;
}

/*
 * The child's answer: fields separated by NUL. Numbers in decimal; an optional string is "-" when
 * absent and "+" and the string when present. A setting is source, value, effect.
 */

static void put_str(FILE *f, const char *s)
{
        fputs(s, f);
        fputc(0, f);
}

static void put_opt(FILE *f, const char *s)
{
        fputc(s ? '+' : '-', f);
        put_str(f, strempty(s));
}

static void put_num(FILE *f, long long v)
{
        fprintf(f, "%lld", v);
        fputc(0, f);
}

static void put_settings(FILE *f, const NvNestedSetting *l, size_t n)
{
        put_num(f, (long long) n);
        for (size_t i = 0; i < n; i++) {
                put_str(f, l[i].source);
                put_opt(f, l[i].value);
                put_num(f, l[i].effect);
        }
}

static void put_facts(FILE *f, int r, const NvModuleFacts *m)
{
        put_num(f, r);
        if (r < 0)
                return;
        put_num(f, m->state);
        put_num(f, m->refcnt);
        put_num(f, m->config_error);
        if (m->config_error < 0)
                return;
        put_settings(f, m->config.settings, m->config.n_settings);
        put_num(f, m->config.next_load);
        put_opt(f, m->config.source);
        put_num(f, (long long) strv_length(m->config.overridden));
        for (size_t i = 0; m->config.overridden && m->config.overridden[i]; i++)
                put_str(f, m->config.overridden[i]);
        put_num(f, m->config.conflict);
        put_settings(f, m->config.ignored, m->config.n_ignored);
}

typedef struct Reader {
        const char *p, *end;
} Reader;

static const char *get_str(Reader *rd)
{
        const char *s = rd->p, *nul;

        if (!s || s >= rd->end)
                return NULL;
        nul = memchr(s, 0, (size_t) (rd->end - s));
        if (!nul)
                return NULL;
        rd->p = nul + 1;
        return s;
}

static int get_num(Reader *rd, long long min, long long max, long long *ret)
{
        const char *s = get_str(rd);
        char *e;
        long long v;

        if (!s || !*s)
                return -EPROTO;
        errno = 0;
        v = strtoll(s, &e, 10);
        if (errno != 0 || *e || v < min || v > max)
                return -EPROTO;
        *ret = v;
        return 0;
}

static int get_opt(Reader *rd, char **ret)
{
        const char *s = get_str(rd);

        if (!s || (s[0] != '+' && s[0] != '-') || (s[0] == '-' && s[1]))
                return -EPROTO;
        *ret = s[0] == '+' ? strdup(s + 1) : NULL;
        return s[0] == '+' && !*ret ? -ENOMEM : 0;
}

static int get_settings(Reader *rd, NvNestedSetting **ret, size_t *ret_n)
{
        long long n, effect;
        int r;

        r = get_num(rd, 0, 65536, &n);
        if (r < 0)
                return r;
        *ret = n > 0 ? calloc((size_t) n, sizeof(NvNestedSetting)) : NULL;
        if (n > 0 && !*ret)
                return -ENOMEM;
        *ret_n = (size_t) n;
        for (long long i = 0; i < n; i++) {
                NvNestedSetting *s = &(*ret)[i];
                const char *source = get_str(rd);

                if (!source)
                        return -EPROTO;
                s->source = strdup(source);
                if (!s->source)
                        return -ENOMEM;
                r = get_opt(rd, &s->value);
                if (r < 0)
                        return r;
                r = get_num(rd, 0, NV_NESTED_INVALID, &effect);
                if (r < 0)
                        return r;
                s->effect = (NvNested) effect;
        }
        return 0;
}

static int get_facts(Reader *rd, NvModuleFacts *m)
{
        long long v, n;
        int r;

        /* The child's failures, not this process's: its -ENOMEM does not end the caller. */
        r = get_num(rd, -4095, 0, &v);
        if (r < 0)
                return r;
        if (v < 0)
                return v == -ENOMEM ? -EPROTO : (int) v;
        r = get_num(rd, 0, NV_MODULE_BUILTIN, &v);
        if (r < 0)
                return r;
        m->state = (NvModuleState) v;
        r = get_num(rd, 0, UINT32_MAX, &v);
        if (r < 0)
                return r;
        m->refcnt = (unsigned) v;
        r = get_num(rd, -4095, 0, &v);
        if (r < 0)
                return r;
        if (v < 0) {
                m->config_error = v == -ENOMEM ? -EPROTO : (int) v;
                return rd->p == rd->end ? 0 : -EPROTO;
        }
        r = get_settings(rd, &m->config.settings, &m->config.n_settings);
        if (r < 0)
                return r;
        r = get_num(rd, 0, NV_NESTED_INVALID, &v);
        if (r < 0)
                return r;
        m->config.next_load = (NvNested) v;
        r = get_opt(rd, &m->config.source);
        if (r < 0)
                return r;
        r = get_num(rd, 0, 65536, &n);
        if (r < 0)
                return r;
        for (long long i = 0; i < n; i++) {
                const char *s = get_str(rd);

                if (!s)
                        return -EPROTO;
                if (strv_extend(&m->config.overridden, s) < 0)
                        return -ENOMEM;
        }
        r = get_num(rd, 0, 1, &v);
        if (r < 0)
                return r;
        m->config.conflict = v;
        r = get_settings(rd, &m->config.ignored, &m->config.n_ignored);
        if (r < 0)
                return r;
        return rd->p == rd->end ? 0 : -EPROTO;
}

/* In the child: answer, write it all, and leave without running the parent's exit handlers. */
_Noreturn static void child_answer(int fd, const char *release, const char *module, NvNested kernel_default)
{
        NvModuleFacts m = {};
        char *buf = NULL;
        size_t size = 0;
        sigset_t none;
        FILE *f;
        int r;

        /* The parent's event loop blocks signals it reads through signalfd; here they end the
         * child as usual, and so does the parent's end. */
        (void) sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);

        r = read_here(release, module, kernel_default, &m);
        f = open_memstream(&buf, &size);
        if (!f)
                _exit(EXIT_FAILURE);
        put_facts(f, r, &m);
        nv_module_facts_done(&m);
        if (ferror(f) || fclose(f) != 0)
                _exit(EXIT_FAILURE);
        for (size_t done = 0; done < size;) {
                ssize_t n = write(fd, buf + done, size - done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        _exit(EXIT_FAILURE);
                done += (size_t) n;
        }
        free(buf);
        _exit(EXIT_SUCCESS);
}

/* Everything the child writes, until end of file or the deadline (then -ETIMEDOUT). */
static int read_answer(int fd, char **buf, size_t *size)
{
        long long deadline = nv_now_ms() + NV_MODULE_FACTS_TIMEOUT_SEC * 1000LL;
        size_t allocated = 0;

        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                long long left = deadline - nv_now_ms();
                ssize_t n;
                int r;

                if (left <= 0)
                        return -ETIMEDOUT;
                r = poll(&p, 1, (int) left);
                if (r < 0 && errno != EINTR)
                        return -errno;
                if (r <= 0)
                        continue;

                if (allocated - *size < 4096) {
                        char *m = realloc(*buf, allocated + 16384);
                        if (!m)
                                return -ENOMEM;
                        *buf = m;
                        allocated += 16384;
                }
                n = read(fd, *buf + *size, allocated - *size);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return 0;
                *size += (size_t) n;
        }
}

static int read_isolated(
        const char *release, const char *module, NvNested kernel_default, NvModuleFacts *ret)
{
        _cleanup_free_ char *buf = NULL;
        NvModuleFacts m = {};
        int fds[2], status, r;
        size_t size = 0;
        pid_t pid;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                r = -errno;
                close(fds[0]);
                close(fds[1]);
                return r;
        }
        if (pid == 0) {
                close(fds[0]);
                child_answer(fds[1], release, module, kernel_default);
        }
        close(fds[1]);

        /* The child only reads files, but one of them may be a FIFO or on a mount that hangs. */
        r = read_answer(fds[0], &buf, &size);
        close(fds[0]);
        if (r < 0)
                (void) kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return r < 0 ? r : -errno;
        if (r == -ENOMEM)
                return r;
        if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return -EPROTO;

        r = get_facts(&(Reader){ buf, buf + size }, &m);
        if (r < 0) {
                nv_module_facts_done(&m);
                return r;
        }
        *ret = m;
        return 0;
}

int nv_module_facts_read(
        const char *release, const char *module, NvNested kernel_default, NvModuleFacts *ret)
{
        assert(module);
        assert(ret);

        *ret = (NvModuleFacts){};
        return isolated ? read_isolated(release, module, kernel_default, ret)
                        : read_here(release, module, kernel_default, ret);
}
