/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "audit.h"

typedef struct PolkitQuery PolkitQuery;

/* The calls waiting for polkit. Whoever owns it (the Daemon) does not exit on idle while
 * n_pending > 0. */
typedef struct BusPolkit {
        unsigned n_pending;
        PolkitQuery *queries;
} BusPolkit;

/*
 * The polkit step of a method handler, as in systemd's services: asks whether the sender of call
 * may perform action, without blocking, so other callers are served while polkit (or the person
 * it asks) decides. details are key/value pairs for rules, NULL-terminated. caller was taken when
 * the call arrived (bus_polkit_caller()).
 *
 * Returns 1 when the caller may go on: root (without asking), or polkit said yes and handler is
 * being called again. Returns 0 when polkit was asked: handler then returns 1, and is called again
 * with the same message and userdata once polkit answered, so that it looks at the
 * host as it is by then. Returns < 0 with error set (AccessDenied or
 * InteractiveAuthorizationRequired) when refused: polkit said no, is missing, failed or did not
 * answer in time; the refusal is audited here. A challenge is allowed only when the call's header
 * allows interactive authorization.
 */
int bus_verify_polkit_async(BusPolkit *p, sd_bus_message *call, sd_bus_message_handler_t handler,
        void *userdata, const char *action, const char *const *details, const AuditCaller *caller,
        sd_bus_error *error);

/* Who sent call, for the audit record: taken from the bus now, or, when call waited for polkit,
 * as it was when the call arrived (the sender may be gone since). */
AuditCaller bus_polkit_caller(BusPolkit *p, sd_bus_message *call);

/* Answers every call still waiting for polkit with AccessDenied, audited, and frees its check: when
 * the event loop ends, before the bus is closed (each check holds the call and a reference to the
 * bus, which would otherwise never be freed). */
void bus_polkit_queries_free(BusPolkit *p);
