/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Subscribe() and Unsubscribe(): clients that want to hear about changes keep the daemon from
 * exiting on idle for as long as they are connected. Anyone may call them; userdata is the Daemon. */

#include <systemd/sd-bus.h>

int method_subscribe(sd_bus_message *m, void *userdata, sd_bus_error *error);
int method_unsubscribe(sd_bus_message *m, void *userdata, sd_bus_error *error);
