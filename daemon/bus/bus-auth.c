/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-auth.h"
#include "bus-polkit.h"
#include "daemon.h"
#include "nestvirt-bus.h"

/* Which method needs which polkit action. A method not listed here is refused. */
static const struct {
        const char *method;
        const char *action;
} auth_table[] = {
        { "SetNested/runtime", NV_POLKIT_ACTION_SET_NESTED },
        { "SetNested/persistent", NV_POLKIT_ACTION_SET_PERSISTENT },
        { "ResetPersistent", NV_POLKIT_ACTION_SET_PERSISTENT },
        { "Enforce", NV_POLKIT_ACTION_ENFORCE },
        { "SetExposure", NV_POLKIT_ACTION_SET_VM_NESTING },
};

static const char *action_for(const char *what)
{
        for (size_t i = 0; i < ELEMENTSOF(auth_table); i++)
                if (streq(auth_table[i].method, what))
                        return auth_table[i].action;
        return NULL;
}

int bus_verify(Daemon *d, sd_bus_message *m, sd_bus_message_handler_t handler, const char *what,
        const char *const *details, const AuditCaller *caller, sd_bus_error *error)
{
        const char *action = action_for(what);
        int r;

        if (!action) {
                r = sd_bus_error_setf(
                        error, SD_BUS_ERROR_ACCESS_DENIED, "No authorization rule for %s.", what);
                audit_change(caller, what, "-", "-", error->message);
                return r;
        }
        return bus_verify_polkit_async(&d->polkit, m, handler, d, action, details, caller, error);
}
