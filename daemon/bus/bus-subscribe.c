/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>

#include "bus-errors.h"
#include "bus-subscribe.h"
#include "daemon.h"
#include "log.h"

/*
 * The subscribers are the unique names in one sd_bus_track: a name that leaves the bus drops out by
 * itself, so a client that crashes does not keep the daemon alive. One subscription per
 * connection: subscribing again changes nothing, and one Unsubscribe() ends it.
 */

int method_subscribe(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        Daemon *d = userdata;
        int r;

        assert(m);
        assert(d);

        if (!d->subscribers) {
                r = sd_bus_track_new(sd_bus_message_get_bus(m), &d->subscribers, NULL, NULL);
                if (r < 0)
                        return log_error_errno(r, "Failed to track subscribers: %m");
        }

        r = sd_bus_track_add_sender(d->subscribers, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add a subscriber: %m");

        return sd_bus_reply_method_return(m, NULL);
}

int method_unsubscribe(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        Daemon *d = userdata;
        int r;

        assert(m);
        assert(d);

        r = d->subscribers ? sd_bus_track_remove_sender(d->subscribers, m) : 0;
        if (r < 0)
                return r;
        if (r == 0)
                return sd_bus_error_set(error, NV_ERROR_NOT_SUBSCRIBED, "This client is not subscribed.");

        return sd_bus_reply_method_return(m, NULL);
}
