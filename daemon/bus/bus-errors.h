/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* The named errors of org.nestvirt.NestVirt1; dbus/org.nestvirt.NestVirt1.xml documents them. */
#define NV_ERROR_PREFIX "org.nestvirt.NestVirt1.Error."

extern const sd_bus_error_map nv_bus_errors[];
