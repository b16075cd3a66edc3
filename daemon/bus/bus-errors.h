/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* The named errors of the interface (NV_ERROR_*); dbus/org.nestvirt.NestVirt1.xml documents them. */
#include "nestvirt-bus.h"

extern const sd_bus_error_map nv_bus_errors[];
