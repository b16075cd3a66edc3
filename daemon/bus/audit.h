/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>
#include <systemd/sd-bus.h>

/* Journal records of change attempts: MESSAGE_ID=NV_AUDIT_MESSAGE_ID, NESTVIRT_* fields. */
#define NV_AUDIT_MESSAGE_ID "7b1e0f3c5a6d4e8f9a2b3c4d5e6f7081"

typedef struct AuditCaller {
        uid_t uid; /* (uid_t) -1 when unknown */
        pid_t pid; /* 0 when unknown */
} AuditCaller;

/* The sender's uid and pid, taken when its call arrives: it may be gone by the time the record
 * is written (after polkit decided). */
AuditCaller audit_caller(sd_bus_message *call);

/* Records one attempt: what was asked, old and new values, the outcome. */
void audit_change(const AuditCaller *caller, const char *request, const char *old_value,
        const char *new_value, const char *outcome);
