/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "libvirt-util.h"
#include "libvirt-vms.h"
#include "libvirt-watch.h"
#include "log.h"

/* ---- libvirt's event loop on sd-event ---------------------------------------------------- */

typedef struct EvHandle {
        int id;
        int fd;
        virEventHandleCallback cb;
        void *opaque;
        virFreeCallback ff;
        sd_event_source *source;
        struct EvHandle *next;
} EvHandle;

typedef struct EvTimer {
        int id;
        int interval; /* ms; -1 off, 0 at every iteration of the loop */
        virEventTimeoutCallback cb;
        void *opaque;
        virFreeCallback ff;
        sd_event_source *source; /* a defer source for 0, a time source for > 0 */
        struct EvTimer *next;
} EvTimer;

/* A free callback waiting for the loop: libvirt forbids calling it inside the remove call. */
typedef struct EvFree {
        virFreeCallback ff;
        void *opaque;
        struct EvFree *next;
} EvFree;

/* libvirt's event implementation is process-wide, so is its state. */
static struct {
        sd_event *event;
        EvHandle *handles;
        EvTimer *timers;
        EvFree *frees;
        sd_event_source *reaper;
        int last_id;
        bool registered; /* with libvirt: done once it is loaded */
} ev;

static uint32_t to_epoll(int events)
{
        return (events & VIR_EVENT_HANDLE_READABLE ? EPOLLIN : 0) |
                (events & VIR_EVENT_HANDLE_WRITABLE ? EPOLLOUT : 0) |
                (events & VIR_EVENT_HANDLE_ERROR ? EPOLLERR : 0) |
                (events & VIR_EVENT_HANDLE_HANGUP ? EPOLLHUP : 0);
}

static int from_epoll(uint32_t events)
{
        return (events & EPOLLIN ? VIR_EVENT_HANDLE_READABLE : 0) |
                (events & EPOLLOUT ? VIR_EVENT_HANDLE_WRITABLE : 0) |
                (events & EPOLLERR ? VIR_EVENT_HANDLE_ERROR : 0) |
                (events & EPOLLHUP ? VIR_EVENT_HANDLE_HANGUP : 0);
}

static int next_id(void)
{
        if (ev.last_id == INT_MAX)
                ev.last_id = 0;
        return ++ev.last_id;
}

static int on_reap(sd_event_source *s, void *userdata)
{
        EvFree *list = ev.frees;

        /* The callbacks may remove more handles: those go to a new list and a new round. */
        ev.frees = NULL;
        while (list) {
                EvFree *f = list;
                list = f->next;
                f->ff(f->opaque);
                free(f);
        }
        return 0;
}

static void defer_free(virFreeCallback ff, void *opaque)
{
        EvFree *f;

        if (!ff)
                return;
        f = malloc(sizeof(EvFree));
        if (!f) {
                /* Better a leak than a callback libvirt does not expect here. */
                log_warning("Out of memory: a libvirt object is not released.");
                return;
        }
        *f = (EvFree){ .ff = ff, .opaque = opaque, .next = ev.frees };
        ev.frees = f;
        if (sd_event_source_set_enabled(ev.reaper, SD_EVENT_ONESHOT) < 0)
                log_warning("Failed to schedule the release of a libvirt object.");
}

static int on_handle(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        EvHandle *h = userdata;

        h->cb(h->id, fd, from_epoll(revents), h->opaque);
        return 0;
}

static EvHandle *find_handle(int id)
{
        for (EvHandle *h = ev.handles; h; h = h->next)
                if (h->id == id)
                        return h;
        return NULL;
}

static int set_handle_events(EvHandle *h, int events)
{
        int r;

        /* epoll reports errors and hang-ups even for no events: an idle handle is turned off. */
        if (events == 0)
                return sd_event_source_set_enabled(h->source, SD_EVENT_OFF);
        r = sd_event_source_set_io_events(h->source, to_epoll(events));
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(h->source, SD_EVENT_ON);
}

static int ev_add_handle(int fd, int events, virEventHandleCallback cb, void *opaque, virFreeCallback ff)
{
        EvHandle *h;
        int r;

        h = calloc(1, sizeof(EvHandle));
        if (!h)
                return -1;
        *h = (EvHandle){ .id = next_id(), .fd = fd, .cb = cb, .opaque = opaque, .ff = ff };

        r = sd_event_add_io(ev.event, &h->source, fd, to_epoll(events), on_handle, h);
        if (r >= 0)
                r = set_handle_events(h, events);
        if (r < 0) {
                log_warning_errno(r, "Failed to watch a libvirt file descriptor: %m");
                sd_event_source_disable_unref(h->source);
                free(h);
                return -1;
        }
        (void) sd_event_source_set_description(h->source, "libvirt-handle");

        h->next = ev.handles;
        ev.handles = h;
        return h->id;
}

static void ev_update_handle(int id, int events)
{
        EvHandle *h = find_handle(id);
        int r;

        if (!h)
                return;
        r = set_handle_events(h, events);
        if (r < 0)
                log_warning_errno(r, "Failed to change the events of a libvirt file descriptor: %m");
}

static int ev_remove_handle(int id)
{
        for (EvHandle **p = &ev.handles; *p; p = &(*p)->next) {
                EvHandle *h = *p;

                if (h->id != id)
                        continue;
                *p = h->next;
                sd_event_source_disable_unref(h->source);
                defer_free(h->ff, h->opaque);
                free(h);
                return 0;
        }
        return -1;
}

static int on_timer(sd_event_source *s, void *userdata);

static int on_timer_time(sd_event_source *s, uint64_t usec, void *userdata)
{
        return on_timer(s, userdata);
}

/* Makes t's source match its interval. A timer repeats: libvirt's timeouts fire every
 * interval until changed. */
static int timer_arm(EvTimer *t)
{
        uint64_t now;
        int r;

        if (t->interval < 0)
                return t->source ? sd_event_source_set_enabled(t->source, SD_EVENT_OFF) : 0;

        if (t->interval == 0) {
                /* A defer source that stays on runs at every iteration, as libvirt wants. */
                if (t->source && sd_event_source_get_time(t->source, &now) >= 0)
                        t->source = sd_event_source_disable_unref(t->source);
                if (!t->source) {
                        r = sd_event_add_defer(ev.event, &t->source, on_timer, t);
                        if (r < 0)
                                return r;
                        (void) sd_event_source_set_description(t->source, "libvirt-timeout");
                }
                return sd_event_source_set_enabled(t->source, SD_EVENT_ON);
        }

        r = sd_event_now(ev.event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return r;
        now += (uint64_t) t->interval * 1000;
        if (t->source && sd_event_source_get_time(t->source, &(uint64_t){ 0 }) < 0)
                t->source = sd_event_source_disable_unref(t->source); /* was a defer source */
        if (!t->source) {
                r = sd_event_add_time(ev.event, &t->source, CLOCK_MONOTONIC, now, 1000, on_timer_time, t);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_description(t->source, "libvirt-timeout");
        } else {
                r = sd_event_source_set_time(t->source, now);
                if (r < 0)
                        return r;
        }
        return sd_event_source_set_enabled(t->source, SD_EVENT_ON);
}

static int on_timer(sd_event_source *s, void *userdata)
{
        EvTimer *t = userdata;
        int id = t->id, r;

        /* Re-armed first: the callback may change or remove the timer. */
        if (t->interval > 0) {
                r = timer_arm(t);
                if (r < 0)
                        log_warning_errno(r, "Failed to re-arm a libvirt timeout: %m");
        }
        t->cb(id, t->opaque);
        return 0;
}

static int ev_add_timeout(int interval, virEventTimeoutCallback cb, void *opaque, virFreeCallback ff)
{
        EvTimer *t;
        int r;

        t = calloc(1, sizeof(EvTimer));
        if (!t)
                return -1;
        *t = (EvTimer){ .id = next_id(), .interval = interval, .cb = cb, .opaque = opaque, .ff = ff };
        r = timer_arm(t);
        if (r < 0) {
                log_warning_errno(r, "Failed to add a libvirt timeout: %m");
                sd_event_source_disable_unref(t->source);
                free(t);
                return -1;
        }
        t->next = ev.timers;
        ev.timers = t;
        return t->id;
}

static void ev_update_timeout(int id, int interval)
{
        for (EvTimer *t = ev.timers; t; t = t->next) {
                int r;

                if (t->id != id)
                        continue;
                t->interval = interval;
                r = timer_arm(t);
                if (r < 0)
                        log_warning_errno(r, "Failed to change a libvirt timeout: %m");
                return;
        }
}

static int ev_remove_timeout(int id)
{
        for (EvTimer **p = &ev.timers; *p; p = &(*p)->next) {
                EvTimer *t = *p;

                if (t->id != id)
                        continue;
                *p = t->next;
                sd_event_source_disable_unref(t->source);
                defer_free(t->ff, t->opaque);
                free(t);
                return 0;
        }
        return -1;
}

static void on_libvirt_error(void *userdata, virErrorPtr e)
{
        /* libvirt would print every error to stderr, including the expected ones (libvirt not
         * running, a domain gone). The callers log what matters, with libvirt's message. */
}

/* The loop's half, without libvirt: the loop the implementation will use. */
static int event_impl_prepare(sd_event *e)
{
        int r;

        if (ev.event)
                return ev.event == e ? 0 : -EBUSY;

        r = sd_event_add_defer(e, &ev.reaper, on_reap, NULL);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(ev.reaper, SD_EVENT_OFF);
        (void) sd_event_source_set_description(ev.reaper, "libvirt-free");
        ev.event = sd_event_ref(e);
        return 0;
}

/* libvirt's half, once it is loaded and before its first connection. */
static void event_impl_register(void)
{
        assert(ev.event);

        if (ev.registered)
                return;
        sym_virSetErrorFunc(NULL, on_libvirt_error);
        sym_virEventRegisterImpl(ev_add_handle, ev_update_handle, ev_remove_handle, ev_add_timeout,
                ev_update_timeout, ev_remove_timeout);
        ev.registered = true;
}

/* ---- the connection ----------------------------------------------------------------------- */

/* Retries after the socket appeared: libvirt binds it before it listens (at most ~3 s). */
#define RETRY_FIRST_USEC (50 * 1000)
#define RETRY_MAX        6

struct LibvirtWatch {
        sd_event *event;
        LibvirtWatchFn fn;
        void *userdata;
        char *uri;
        virConnectPtr conn;
        int callback_id; /* the lifecycle event callback, -1 without */
        bool closed; /* libvirt said the connection closed */
        bool load_failed; /* libvirt.so.0 could not be loaded: said once */

        /* The socket's directory and name; NULL for a URI without a local socket. */
        char *sock_dir;
        char *sock_name;
        bool sock_default; /* libvirt picks the socket: the monolithic or the modular daemon's */
        int inotify_fd;
        int wd;
        sd_event_source *inotify_source;
        sd_event_source *reconnect; /* defer: reconnect after a close, outside libvirt's callback */
        sd_event_source *retry; /* time: the bounded retries after the socket appeared */
        unsigned retries;
};

static void on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
        LibvirtWatch *w = opaque;

        w->fn(w->userdata);
}

static void on_close(virConnectPtr conn, int reason, void *opaque)
{
        LibvirtWatch *w = opaque;

        /* libvirt still holds the connection here: drop it from the loop, not from the callback. */
        if (w->conn != conn)
                return;
        w->closed = true;
        (void) sd_event_source_set_enabled(w->reconnect, SD_EVENT_ONESHOT);
}

static void disconnect(LibvirtWatch *w)
{
        if (!w->conn)
                return;
        if (w->callback_id >= 0)
                (void) sym_virConnectDomainEventDeregisterAny(w->conn, w->callback_id);
        (void) sym_virConnectUnregisterCloseCallback(w->conn, on_close);
        sym_virConnectClose(w->conn);
        w->conn = NULL;
        w->callback_id = -1;
        w->closed = false;
}

/* Loads libvirt at the first attempt to connect, not before: a host without libvirt never maps
 * it or the libraries it links. */
static int load_libvirt(LibvirtWatch *w)
{
        int r;

        r = dlopen_libvirt();
        if (r < 0) {
                if (!w->load_failed)
                        log_warning_errno(r,
                                "Cannot load libvirt.so.0 (%s): %m. libvirt's domains are not listed.",
                                dlopen_error());
                w->load_failed = true;
                return r;
        }
        event_impl_register();
        return 0;
}

/* Connects when not connected. 1 when connected now, 0 when libvirt cannot be reached, < 0 when
 * libvirt's library cannot be loaded. */
static int try_connect(LibvirtWatch *w)
{
        _cleanup_(sym_virConnectClosep) virConnectPtr conn = NULL;
        int id, r;

        if (w->conn)
                return 1;

        r = load_libvirt(w);
        if (r < 0)
                return r;

        conn = sym_virConnectOpen(w->uri);
        if (!conn)
                return 0;

        if (sym_virConnectRegisterCloseCallback(conn, on_close, w, NULL) < 0) {
                log_warning("libvirt refused a close callback for %s: %s", w->uri, nv_libvirt_message());
                return 0;
        }
        id = sym_virConnectDomainEventRegisterAny(
                conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), w, NULL);
        if (id < 0) {
                log_warning("libvirt refused domain events on %s: %s", w->uri, nv_libvirt_message());
                (void) sym_virConnectUnregisterCloseCallback(conn, on_close);
                return 0;
        }

        w->conn = TAKE_PTR(conn);
        w->callback_id = id;
        log_info("Connected to libvirt at %s.", w->uri);
        return 1;
}

static int on_reconnect(sd_event_source *s, void *userdata)
{
        LibvirtWatch *w = userdata;

        if (w->closed) {
                log_notice("The connection to libvirt at %s closed; waiting for it to come back.", w->uri);
                disconnect(w);
        }
        (void) try_connect(w);
        w->fn(w->userdata);
        return 0;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
        LibvirtWatch *w = userdata;
        int r;

        r = try_connect(w);
        if (r > 0) {
                w->fn(w->userdata);
                return 0;
        }
        if (r < 0 || ++w->retries >= RETRY_MAX)
                return 0; /* until the socket appears again */
        (void) sd_event_source_set_time_relative(s, RETRY_FIRST_USEC << w->retries);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

/* Watches the socket's directory, or while it is missing the nearest existing ancestor. */
static void arm_inotify(LibvirtWatch *w)
{
        _cleanup_free_ char *p = strdup(w->sock_dir);
        int wd;

        if (!p)
                return;
        for (;;) {
                char *slash;

                wd = inotify_add_watch(w->inotify_fd, p,
                        IN_CREATE | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR);
                if (wd >= 0 || (errno != ENOENT && errno != ENOTDIR))
                        break;
                slash = strrchr(p, '/');
                if (!slash || slash == p)
                        break;
                *slash = 0;
        }
        if (w->wd >= 0 && w->wd != wd)
                (void) inotify_rm_watch(w->inotify_fd, w->wd);
        w->wd = wd;
}

static bool is_socket(const LibvirtWatch *w, const char *name)
{
        return streq(name, w->sock_name) || (w->sock_default && streq(name, "virtqemud-sock"));
}

/* Whether the socket is there now, by its name in the directory (whether it listens, only a
 * connection can tell). */
static bool socket_exists(const LibvirtWatch *w)
{
        _cleanup_close_ int fd = -1;

        fd = open(w->sock_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return false;
        return faccessat(fd, w->sock_name, F_OK, 0) >= 0 ||
                (w->sock_default && faccessat(fd, "virtqemud-sock", F_OK, 0) >= 0);
}

/* What one inotify event means: the socket appeared, or the watch has to be placed again (the
 * directory went away, or something appeared on the way to it). */
static void classify(const LibvirtWatch *w, const struct inotify_event *e, bool *appeared, bool *rearm)
{
        if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_Q_OVERFLOW))
                *rearm = true;
        else if (e->len > 0 && is_socket(w, e->name))
                *appeared = true;
        else if (e->len > 0)
                *rearm = true;
}

static int on_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        LibvirtWatch *w = userdata;
        bool appeared = false, rearm = false;
        int r;
        union {
                struct inotify_event e;
                uint8_t raw[16 * (sizeof(struct inotify_event) + NAME_MAX + 1)];
        } buf;
        ssize_t n;

        /* One read per dispatch: the source is level-triggered, what did not fit comes next. */
        n = read(fd, &buf, sizeof(buf));
        if (n < 0) {
                if (errno != EAGAIN && errno != EINTR)
                        log_warning("Failed to read inotify events for %s: %m", w->sock_dir);
                return 0;
        }
        for (uint8_t *p = buf.raw; p < buf.raw + n;
                p += sizeof(struct inotify_event) + ((struct inotify_event *) p)->len)
                classify(w, (const struct inotify_event *) p, &appeared, &rearm);

        if (rearm)
                arm_inotify(w);
        if (!appeared || w->conn)
                return 0;

        r = try_connect(w);
        if (r > 0) {
                w->fn(w->userdata);
                return 0;
        }
        if (r < 0)
                return 0; /* no library: retrying would not help */
        w->retries = 0;
        (void) sd_event_source_set_time_relative(w->retry, RETRY_FIRST_USEC);
        (void) sd_event_source_set_enabled(w->retry, SD_EVENT_ONESHOT);
        return 0;
}

/* The local socket a URI connects to: "?socket=" (taken as written, not %-decoded), else
 * libvirt's for a system URI without a host (libvirtd's, or virtqemud's: either may serve it). */
static int uri_socket(const char *uri, char **ret_dir, char **ret_name, bool *ret_default)
{
        _cleanup_free_ char *path = NULL;
        const char *q = strchr(uri, '?'), *rest;
        char *slash;

        *ret_dir = *ret_name = NULL;
        *ret_default = false;
        for (const char *p = q; p; p = strchr(p + 1, '&')) {
                rest = startswith(p + 1, "socket=");
                if (rest) {
                        path = strndup(rest, strcspn(rest, "&"));
                        if (!path)
                                return -ENOMEM;
                        break;
                }
        }
        if (!path) {
                const char *scheme_end = strstr(uri, "://");
                /* A transport ("qemu+ssh") or a host means a remote libvirt: nothing to watch. */
                if (!scheme_end || memchr(uri, '+', scheme_end - uri) || scheme_end[3] != '/' ||
                        !startswith(scheme_end + 3, "/system"))
                        return 0;
                path = strdup("/run/libvirt/libvirt-sock");
                if (!path)
                        return -ENOMEM;
                *ret_default = true;
        }

        slash = strrchr(path, '/');
        if (!slash || slash == path || !slash[1])
                return 0;
        *slash = 0;
        *ret_name = strdup(slash + 1);
        if (!*ret_name)
                return -ENOMEM;
        *ret_dir = TAKE_PTR(path);
        return 0;
}

int libvirt_watch_new(sd_event *e, LibvirtWatchFn fn, void *userdata, LibvirtWatch **ret)
{
        _cleanup_(libvirt_watch_freep) LibvirtWatch *w = NULL;
        int r;

        assert(e);
        assert(fn);
        assert(ret);

        r = event_impl_prepare(e);
        if (r < 0)
                return log_error_errno(r, "Failed to carry libvirt's events on the event loop: %m");

        /* A session URI would otherwise start a libvirt daemon of its own. */
        (void) setenv("LIBVIRT_AUTOSTART", "0", 0);

        w = calloc(1, sizeof(LibvirtWatch));
        if (!w)
                return -ENOMEM;
        *w = (LibvirtWatch){
                .event = sd_event_ref(e),
                .fn = fn,
                .userdata = userdata,
                .callback_id = -1,
                .inotify_fd = -1,
                .wd = -1,
        };
        w->uri = strdup(nv_libvirt_uri());
        if (!w->uri)
                return -ENOMEM;

        r = sd_event_add_defer(e, &w->reconnect, on_reconnect, w);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(w->reconnect, SD_EVENT_OFF);
        r = sd_event_add_time_relative(e, &w->retry, CLOCK_MONOTONIC, RETRY_FIRST_USEC, 0, on_retry, w);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(w->retry, SD_EVENT_OFF);

        r = uri_socket(w->uri, &w->sock_dir, &w->sock_name, &w->sock_default);
        if (r < 0)
                return r;
        if (w->sock_dir) {
                w->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
                if (w->inotify_fd < 0)
                        return log_error_errno(-errno, "Failed to create an inotify instance: %m");
                /* Watching first: a socket that appears between the attempt and the watch is seen. */
                arm_inotify(w);
                r = sd_event_add_io(e, &w->inotify_source, w->inotify_fd, EPOLLIN, on_inotify, w);
                if (r < 0)
                        return log_error_errno(r, "Failed to watch %s: %m", w->sock_dir);
                (void) sd_event_source_set_description(w->inotify_source, "libvirt-socket");
        }

        if (w->sock_dir && !socket_exists(w))
                /* Not even loaded: that waits for the socket too. */
                log_info("libvirt at %s is not running (no socket); waiting for %s/%s.", w->uri, w->sock_dir,
                        w->sock_name);
        else if (try_connect(w) == 0)
                log_info("libvirt at %s is not reachable (%s); waiting for %s/%s.", w->uri,
                        nv_libvirt_message(), strempty(w->sock_dir), strempty(w->sock_name));

        *ret = TAKE_PTR(w);
        return 0;
}

LibvirtWatch *libvirt_watch_free(LibvirtWatch *w)
{
        if (!w)
                return NULL;
        disconnect(w);
        sd_event_source_disable_unref(w->inotify_source);
        sd_event_source_disable_unref(w->reconnect);
        sd_event_source_disable_unref(w->retry);
        if (w->inotify_fd >= 0)
                close(w->inotify_fd);
        free(w->sock_dir);
        free(w->sock_name);
        free(w->uri);
        sd_event_unref(w->event);
        free(w);
        return NULL;
}

virConnectPtr libvirt_watch_connection(LibvirtWatch *w)
{
        return w ? w->conn : NULL;
}
