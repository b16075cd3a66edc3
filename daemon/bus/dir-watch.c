/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "dir-watch.h"
#include "host-path.h"
#include "log.h"

/* The same mask on every watch: a parent watched while its directory is missing may be the
 * directory another entry waits on too, and inotify keeps one mask per inode. */
#define WATCH_MASK                                                                               \
        (IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | \
                IN_MOVE_SELF | IN_ONLYDIR)

typedef struct WatchedDir {
        char *path; /* the directory's path under the host root */
        int wd; /* -1: nothing watched */
        bool waiting; /* wd watches an ancestor, until the directory appears */
        const char *next; /* when waiting: the name under the ancestor that leads to path */
} WatchedDir;

struct DirWatch {
        int fd;
        sd_event_source *source;
        WatchedDir *dirs;
        size_t n_dirs;
        char **suffixes; /* the file names that matter end in one of these */
        const char *description;
        DirWatchFn fn;
        void *userdata;
};

static bool wd_in_use(const DirWatch *w, int wd)
{
        for (size_t i = 0; i < w->n_dirs; i++)
                if (w->dirs[i].wd == wd)
                        return true;
        return false;
}

/* Watches the directory itself, or else its nearest existing ancestor. Returns 1 when the
 * directory itself is watched, 0 when an ancestor is (or nothing could be), < 0 on ENOMEM. */
static int watch_dir_arm(DirWatch *w, WatchedDir *dir)
{
        _cleanup_free_ char *p = strdup(dir->path);
        int old = dir->wd, wd = -1;
        char *slash = NULL;

        if (!p)
                return -ENOMEM;

        for (;;) {
                wd = inotify_add_watch(w->fd, p, WATCH_MASK);
                if (wd >= 0)
                        break;
                if (errno != ENOENT && errno != ENOTDIR) {
                        log_warning("Cannot watch %s, changes there are seen at the next call: %m", p);
                        break;
                }
                slash = strrchr(p, '/');
                if (!slash || slash == p) {
                        /* Not even "/" exists: nothing to watch. */
                        wd = -1;
                        break;
                }
                *slash = 0;
        }

        dir->wd = wd;
        dir->waiting = wd >= 0 && slash;
        dir->next = dir->waiting ? dir->path + (slash - p) + 1 : NULL;

        /* An ancestor watched until now is no longer needed once the directory is watched. */
        if (old >= 0 && old != wd && !wd_in_use(w, old))
                (void) inotify_rm_watch(w->fd, old);
        return wd >= 0 && !dir->waiting;
}

/* Whether an event on an ancestor concerns the way down to dir: its next path component. */
static bool concerns_next(const WatchedDir *dir, const char *name)
{
        const char *end = strchrnul(dir->next, '/');

        return name && strlen(name) == (size_t) (end - dir->next) &&
                strncmp(name, dir->next, end - dir->next) == 0;
}

static bool matters(const DirWatch *w, const char *name)
{
        size_t l = name ? strlen(name) : 0;

        for (char **s = w->suffixes; l > 0 && *s; s++) {
                size_t k = strlen(*s);
                if (l > k && streq(name + l - k, *s))
                        return true;
        }
        return false;
}

/* Looks at one event; returns true when the directories' contents may have changed. */
static bool handle_event(DirWatch *w, const struct inotify_event *e)
{
        const char *name = e->len > 0 ? e->name : NULL;
        bool changed = false;

        if (e->mask & IN_Q_OVERFLOW) {
                /* Events were lost: look at everything again. */
                for (size_t i = 0; i < w->n_dirs; i++)
                        (void) watch_dir_arm(w, &w->dirs[i]);
                return true;
        }

        for (size_t i = 0; i < w->n_dirs; i++) {
                WatchedDir *dir = &w->dirs[i];

                if (dir->wd != e->wd)
                        continue;
                if (e->mask & IN_IGNORED)
                        dir->wd = -1; /* the kernel dropped this watch */

                if (dir->waiting) {
                        /* Something appeared on the way: go as deep as it now exists. The directory
                         * may already hold files when it shows up (mkdir -p, then a copy; or a whole
                         * directory renamed into place). */
                        if (concerns_next(dir, name) ||
                                (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)))
                                changed = watch_dir_arm(w, dir) > 0 || changed;
                        continue;
                }

                if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
                        /* The directory went away or moved: its files are gone from where their
                         * readers look. Wait for it again from its parent. */
                        (void) watch_dir_arm(w, dir);
                        changed = true;
                } else if (matters(w, name))
                        changed = true;
        }
        return changed;
}

static int on_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        DirWatch *w = userdata;
        bool changed = false;

        assert(w);

        for (;;) {
                /* Aligned for struct inotify_event, room for many events per read. */
                union {
                        struct inotify_event e;
                        uint8_t raw[64 * (sizeof(struct inotify_event) + NAME_MAX + 1)];
                } buf;
                ssize_t n = read(fd, &buf, sizeof(buf));

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                log_warning("Failed to read %s events: %m", w->description);
                        break;
                }

                for (uint8_t *p = buf.raw; p < buf.raw + n;) {
                        const struct inotify_event *e = (const struct inotify_event *) p;

                        changed = handle_event(w, e) || changed;
                        p += sizeof(struct inotify_event) + e->len;
                }
        }

        /* One call for everything read: a burst of events is one "look again". */
        if (changed)
                w->fn(w->userdata);
        return 0;
}

int dir_watch_new(sd_event *event, const char *description, const char *const *host_dirs,
        const char *const *suffixes, DirWatchFn fn, void *userdata, DirWatch **ret)
{
        _cleanup_(dir_watch_freep) DirWatch *w = NULL;
        size_t n = 0;
        int r;

        assert(event);
        assert(description);
        assert(host_dirs);
        assert(suffixes);
        assert(fn);
        assert(ret);

        while (host_dirs[n])
                n++;

        w = calloc(1, sizeof(DirWatch));
        if (!w)
                return -ENOMEM;
        *w = (DirWatch){ .fd = -1, .description = description, .fn = fn, .userdata = userdata };

        w->suffixes = strv_copy((char *const *) suffixes);
        w->dirs = calloc(n, sizeof(WatchedDir));
        if (!w->suffixes || !w->dirs)
                return -ENOMEM;
        w->n_dirs = n;
        for (size_t i = 0; i < n; i++)
                w->dirs[i].wd = -1;

        w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (w->fd < 0)
                return log_error_errno(-errno, "Failed to create an inotify instance: %m");

        for (size_t i = 0; i < n; i++) {
                w->dirs[i].path = nv_host_path(host_dirs[i]);
                if (!w->dirs[i].path)
                        return -ENOMEM;
                r = watch_dir_arm(w, &w->dirs[i]);
                if (r < 0)
                        return r;
        }

        r = sd_event_add_io(event, &w->source, w->fd, EPOLLIN, on_inotify, w);
        if (r < 0)
                return log_error_errno(r, "Failed to watch %s: %m", description);
        (void) sd_event_source_set_description(w->source, description);

        *ret = TAKE_PTR(w);
        return 0;
}

DirWatch *dir_watch_free(DirWatch *w)
{
        if (!w)
                return NULL;
        sd_event_source_disable_unref(w->source);
        for (size_t i = 0; i < w->n_dirs; i++)
                free(w->dirs[i].path);
        free(w->dirs);
        strv_free(w->suffixes);
        if (w->fd >= 0)
                close(w->fd);
        free(w);
        return NULL;
}
