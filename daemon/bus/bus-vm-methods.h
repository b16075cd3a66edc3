/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The methods of org.nestvirt.NestVirt1.VM; userdata is the Daemon, the VM is the call's path. */

#include <systemd/sd-bus.h>

int method_set_exposure(sd_bus_message *m, void *userdata, sd_bus_error *error);
