/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "audit.h"
#include "daemon.h"

/* Runs once the caller is authorized; replies to call itself, or returns < 0 (with error set, or a
 * negative errno) and the caller gets that error. */
typedef int (*AuthorizedFn)(sd_bus_message *call, void *userdata, sd_bus_error *error);

/*
 * Asks polkit whether the sender of call may perform action, without blocking: other callers are
 * served while polkit (or the person it asks) decides. details are key/value pairs for rules,
 * NULL-terminated. Root is authorized without asking, as systemd's services do. A challenge is
 * allowed only when the call's header allows interactive authorization. polkit missing, failing
 * or not answering means denied. On denial the call is answered with AccessDenied or
 * InteractiveAuthorizationRequired, and the refusal is audited. userdata is released with
 * free_userdata in every case. caller was taken when the call arrived.
 */
int bus_verify_polkit_async(Daemon *d, sd_bus_message *call, const AuditCaller *caller, const char *action,
        const char *const *details, AuthorizedFn fn, void *userdata, void (*free_userdata)(void *));
