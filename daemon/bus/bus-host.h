/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Property getters of org.nestvirt.NestVirt1, served from the snapshot: userdata points to the
 * NvHost pointer of its owner (the vtable gives its offset in the Daemon). */

#include <systemd/sd-bus.h>

#include "host.h"

#define DECLARE_PROPERTY_GETTER(name)                                                        \
        int name(sd_bus *bus, const char *path, const char *interface, const char *property, \
                sd_bus_message *reply, void *userdata, sd_bus_error *error)

DECLARE_PROPERTY_GETTER(property_get_string);
DECLARE_PROPERTY_GETTER(property_get_bool);
DECLARE_PROPERTY_GETTER(property_get_version);
DECLARE_PROPERTY_GETTER(property_get_refcount);
DECLARE_PROPERTY_GETTER(property_get_vm_count);
DECLARE_PROPERTY_GETTER(property_get_settings);
DECLARE_PROPERTY_GETTER(property_get_overridden);

/* Emits PropertiesChanged for every property that differs between old and new. */
int bus_host_emit_changes(sd_bus *bus, const NvHost *old, const NvHost *new);
