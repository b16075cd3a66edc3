/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "log.h"
#include "process-watch.h"

typedef struct Watched {
        pid_t pid;
        sd_event_source *source; /* owns the pidfd */
} Watched;

struct ProcessWatch {
        sd_event *event;
        Watched *procs;
        size_t n_procs;
        bool warned; /* pidfds are missing (kernel before 5.3): said once */
        ProcessWatchFn fn;
        void *userdata;
};

static int on_process_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        ProcessWatch *w = userdata;

        assert(w);
        /* The source stays until the next process_watch_set(): a pidfd stays readable once its
         * process ended, so turn it off or it would fire at every iteration. */
        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        w->fn(w->userdata);
        return 0;
}

static int watch_one(ProcessWatch *w, pid_t pid, Watched *ret)
{
        sd_event_source *source = NULL;
        int fd, r;

        fd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (fd < 0) {
                if (errno == ESRCH)
                        return 0;
                if (errno == ENOSYS && !w->warned) {
                        w->warned = true;
                        log_warning(
                                "pidfds are not available: VMs that stop are noticed at the next refresh.");
                }
                return errno == ENOMEM ? -ENOMEM : 0;
        }

        r = sd_event_add_io(w->event, &source, fd, EPOLLIN, on_process_exit, w);
        if (r < 0) {
                close(fd);
                return r == -ENOMEM ? r : 0;
        }
        (void) sd_event_source_set_io_fd_own(source, true);
        (void) sd_event_source_set_description(source, "vm-process");
        *ret = (Watched){ .pid = pid, .source = source };
        return 1;
}

static int pid_cmp(const void *a, const void *b)
{
        pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;
        return (x > y) - (x < y);
}

int process_watch_set(ProcessWatch *w, const pid_t *pids, size_t n)
{
        _cleanup_free_ Watched *next = NULL;
        _cleanup_free_ pid_t *sorted = NULL;
        size_t n_next = 0, j = 0;
        int r = 0;

        assert(w);
        assert(pids || n == 0);

        next = calloc(n + 1, sizeof(Watched));
        sorted = calloc(n + 1, sizeof(pid_t));
        if (!next || !sorted)
                return -ENOMEM;
        if (n > 0) {
                memcpy(sorted, pids, n * sizeof(pid_t));
                qsort(sorted, n, sizeof(pid_t), pid_cmp);
        }

        /* Both sorted by pid (w->procs is what the last call made): one walk keeps what stays. */
        for (size_t i = 0; i < n; i++) {
                if (sorted[i] <= 0 || (i > 0 && sorted[i] == sorted[i - 1]))
                        continue;
                while (j < w->n_procs && w->procs[j].pid < sorted[i])
                        j++;
                if (j < w->n_procs && w->procs[j].pid == sorted[i] && w->procs[j].source) {
                        next[n_next++] = w->procs[j];
                        w->procs[j].source = NULL;
                        continue;
                }
                r = watch_one(w, sorted[i], &next[n_next]);
                if (r < 0)
                        break;
                n_next += r;
        }

        for (size_t k = 0; k < w->n_procs; k++)
                sd_event_source_disable_unref(w->procs[k].source);
        free(w->procs);
        w->procs = TAKE_PTR(next);
        w->n_procs = n_next;
        return r < 0 ? r : 0;
}

int process_watch_new(sd_event *event, ProcessWatchFn fn, void *userdata, ProcessWatch **ret)
{
        ProcessWatch *w;

        assert(event);
        assert(fn);
        assert(ret);

        w = calloc(1, sizeof(ProcessWatch));
        if (!w)
                return -ENOMEM;
        *w = (ProcessWatch){ .event = sd_event_ref(event), .fn = fn, .userdata = userdata };
        *ret = w;
        return 0;
}

ProcessWatch *process_watch_free(ProcessWatch *w)
{
        if (!w)
                return NULL;
        for (size_t i = 0; i < w->n_procs; i++)
                sd_event_source_disable_unref(w->procs[i].source);
        free(w->procs);
        sd_event_unref(w->event);
        free(w);
        return NULL;
}
