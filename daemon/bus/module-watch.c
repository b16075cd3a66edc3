/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <libudev.h>

#include "log.h"
#include "module-watch.h"

struct ModuleWatch {
        struct udev *udev;
        struct udev_monitor *monitors[2];
        sd_event_source *sources[2];
};

static bool module_is_kvm(const char *name)
{
        return name && (streq(name, "kvm") || streq(name, "kvm_intel") || streq(name, "kvm_amd"));
}

static int on_uevent(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Daemon *d = userdata;
        struct udev_monitor *mon = NULL;
        struct udev_device *dev;

        for (size_t i = 0; i < ELEMENTSOF(d->watch->sources); i++)
                if (d->watch->sources[i] == s)
                        mon = d->watch->monitors[i];
        if (!mon)
                return 0;

        dev = udev_monitor_receive_device(mon);
        if (!dev)
                return 0;
        if (module_is_kvm(udev_device_get_sysname(dev))) {
                log_info("Module %s: %s.", udev_device_get_sysname(dev),
                        strempty(udev_device_get_action(dev)));
                (void) daemon_refresh(d);
        }
        udev_device_unref(dev);
        return 0;
}

int module_watch_start(Daemon *d)
{
        static const char *const groups[] = { "udev", "kernel" };
        ModuleWatch *w;
        int r = 0;

        w = calloc(1, sizeof(ModuleWatch));
        if (!w)
                return -ENOMEM;
        d->watch = w;

        w->udev = udev_new();
        if (!w->udev)
                return -ENOMEM;

        for (size_t i = 0; i < ELEMENTSOF(groups); i++) {
                struct udev_monitor *mon = udev_monitor_new_from_netlink(w->udev, groups[i]);
                if (!mon) {
                        log_warning("Cannot watch %s module events; changes made by others are seen at the "
                                    "next call.",
                                groups[i]);
                        continue;
                }
                w->monitors[i] = mon;
                r = udev_monitor_filter_add_match_subsystem_devtype(mon, "module", NULL);
                if (r >= 0)
                        r = udev_monitor_enable_receiving(mon);
                if (r >= 0)
                        r = sd_event_add_io(
                                d->event, &w->sources[i], udev_monitor_get_fd(mon), EPOLLIN, on_uevent, d);
                if (r < 0)
                        return log_error_errno(r, "Failed to watch %s module events", groups[i]);
        }
        return 0;
}

void module_watch_stop(Daemon *d)
{
        ModuleWatch *w = d->watch;

        if (!w)
                return;
        for (size_t i = 0; i < ELEMENTSOF(w->sources); i++) {
                sd_event_source_disable_unref(w->sources[i]);
                udev_monitor_unref(w->monitors[i]);
        }
        udev_unref(w->udev);
        free(w);
        d->watch = NULL;
}
