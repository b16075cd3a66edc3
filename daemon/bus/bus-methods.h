/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Methods of org.nestvirt.NestVirt1 that change the host; userdata is the Daemon. */

#include <systemd/sd-bus.h>

#include "nestvirt-bus.h" /* SetNested's flag bits NV_SET_* */

int method_set_nested(sd_bus_message *m, void *userdata, sd_bus_error *error);
int method_reset_persistent(sd_bus_message *m, void *userdata, sd_bus_error *error);
int method_enforce(sd_bus_message *m, void *userdata, sd_bus_error *error);
