/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* Journal records of change attempts: MESSAGE_ID=NV_AUDIT_MESSAGE_ID, NESTVIRT_* fields. */
#define NV_AUDIT_MESSAGE_ID "7b1e0f3c5a6d4e8f9a2b3c4d5e6f7081"

/* Records one attempt by the sender of call: what it asked, old and new values, the outcome. */
void audit_change(sd_bus_message *call, const char *request, const char *old_value, const char *new_value,
        const char *outcome);
