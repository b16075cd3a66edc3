/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "host.h"

/* The org.nestvirt.NestVirt1 vtable; its userdata is the Daemon. */
extern const sd_bus_vtable nv_host_vtable[];

/* Emits PropertiesChanged for every property that differs between old and new. */
int bus_host_emit_changes(sd_bus *bus, const NvHost *old, const NvHost *new);
