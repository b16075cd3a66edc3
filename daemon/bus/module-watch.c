/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <libudev.h>

#include "log.h"
#include "module-watch.h"

typedef struct ModuleMonitor {
        struct udev_monitor *monitor;
        sd_event_source *source;
        struct ModuleWatch *watch;
} ModuleMonitor;

struct ModuleWatch {
        struct udev *udev;
        ModuleMonitor monitors[2]; /* the udev and the kernel group */
        ModuleWatchFn fn;
        void *userdata;
};

static bool module_is_kvm(const char *name)
{
        return name && (streq(name, "kvm") || streq(name, "kvm_intel") || streq(name, "kvm_amd"));
}

static int on_uevent(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        ModuleMonitor *m = userdata;
        struct udev_device *dev;

        assert(m);

        dev = udev_monitor_receive_device(m->monitor);
        if (!dev)
                return 0;
        if (module_is_kvm(udev_device_get_sysname(dev))) {
                log_info("Module %s: %s.", udev_device_get_sysname(dev),
                        strempty(udev_device_get_action(dev)));
                m->watch->fn(m->watch->userdata);
        }
        udev_device_unref(dev);
        return 0;
}

int module_watch_new(sd_event *event, ModuleWatchFn fn, void *userdata, ModuleWatch **ret)
{
        static const char *const groups[] = { "udev", "kernel" };
        _cleanup_(module_watch_freep) ModuleWatch *w = NULL;
        int r;

        assert(event);
        assert(fn);
        assert(ret);

        w = calloc(1, sizeof(ModuleWatch));
        if (!w)
                return -ENOMEM;
        w->fn = fn;
        w->userdata = userdata;

        w->udev = udev_new();
        if (!w->udev)
                return -ENOMEM;

        for (size_t i = 0; i < ELEMENTSOF(groups); i++) {
                ModuleMonitor *m = &w->monitors[i];

                m->watch = w;
                m->monitor = udev_monitor_new_from_netlink(w->udev, groups[i]);
                if (!m->monitor) {
                        log_warning("Cannot watch %s module events; changes made by others are seen at the "
                                    "next call.",
                                groups[i]);
                        continue;
                }
                r = udev_monitor_filter_add_match_subsystem_devtype(m->monitor, "module", NULL);
                if (r >= 0)
                        r = udev_monitor_enable_receiving(m->monitor);
                if (r >= 0)
                        r = sd_event_add_io(
                                event, &m->source, udev_monitor_get_fd(m->monitor), EPOLLIN, on_uevent, m);
                if (r < 0)
                        return log_error_errno(r, "Failed to watch %s module events: %m", groups[i]);
                (void) sd_event_source_set_description(m->source, "module-watch");
        }

        *ret = TAKE_PTR(w);
        return 0;
}

ModuleWatch *module_watch_free(ModuleWatch *w)
{
        if (!w)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(w->monitors); i++) {
                sd_event_source_disable_unref(w->monitors[i].source);
                udev_monitor_unref(w->monitors[i].monitor);
        }
        udev_unref(w->udev);
        free(w);
        return NULL;
}
