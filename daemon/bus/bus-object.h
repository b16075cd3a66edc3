/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* The vtable of org.nestvirt.NestVirt1 at /org/nestvirt/NestVirt1; userdata is the Daemon. */
extern const sd_bus_vtable nv_object_vtable[];
