/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Read-only methods that inspect the host on demand; userdata is the Daemon. */

#include <systemd/sd-bus.h>

int method_list_vms(sd_bus_message *m, void *userdata, sd_bus_error *error);
int method_check(sd_bus_message *m, void *userdata, sd_bus_error *error);
