/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The polkit step of every method that changes something, deny by default. */

#include <systemd/sd-bus.h>

#include "audit.h"

typedef struct Daemon Daemon;

/* Asks polkit for the action that what ("SetNested/runtime", "SetExposure", ...) needs, as
 * bus_verify_polkit_async() does; what has no action: AccessDenied, audited. */
int bus_verify(Daemon *d, sd_bus_message *m, sd_bus_message_handler_t handler, const char *what,
        const char *const *details, const AuditCaller *caller, sd_bus_error *error);
