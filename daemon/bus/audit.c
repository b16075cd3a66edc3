/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <syslog.h>
#include <systemd/sd-journal.h>

#include "audit.h"
#include "log.h"
#include "util.h"

AuditCaller audit_caller(sd_bus_message *call)
{
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        AuditCaller c = { .uid = (uid_t) -1, .pid = 0 };

        if (sd_bus_query_sender_creds(call, SD_BUS_CREDS_EUID | SD_BUS_CREDS_PID, &creds) >= 0) {
                (void) sd_bus_creds_get_euid(creds, &c.uid);
                (void) sd_bus_creds_get_pid(creds, &c.pid);
        }
        return c;
}

void audit_change(const AuditCaller *caller, const char *request, const char *old_value,
        const char *new_value, const char *outcome)
{
        int uid = (int) caller->uid, pid = (int) caller->pid;

        /* The same line on stderr keeps the record where there is no journal. */
        log_notice("AUDIT request=%s uid=%d pid=%d old=%s new=%s outcome=%s", request, uid, pid, old_value,
                new_value, outcome);
        (void) sd_journal_send("MESSAGE=%s by uid %d (pid %d): %s -> %s: %s", request, uid, pid, old_value,
                new_value, outcome, "MESSAGE_ID=" NV_AUDIT_MESSAGE_ID, "PRIORITY=%i", LOG_NOTICE,
                "NESTVIRT_REQUEST=%s", request, "NESTVIRT_CALLER_UID=%d", uid, "NESTVIRT_CALLER_PID=%d", pid,
                "NESTVIRT_OLD=%s", old_value, "NESTVIRT_NEW=%s", new_value, "NESTVIRT_OUTCOME=%s", outcome,
                NULL);
}
