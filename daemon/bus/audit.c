/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "audit.h"
#include "log.h"
#include "util.h"

AuditCaller audit_caller(sd_bus_message *call)
{
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        AuditCaller c = { .uid = (uid_t) -1, .pid = 0 };

        assert(call);

        if (sd_bus_query_sender_creds(call, SD_BUS_CREDS_EUID | SD_BUS_CREDS_PID, &creds) >= 0) {
                (void) sd_bus_creds_get_euid(creds, &c.uid);
                (void) sd_bus_creds_get_pid(creds, &c.pid);
        }
        return c;
}

/* Whether stderr is the journal: systemd sets $JOURNAL_STREAM to its device and inode then. */
static bool stderr_is_journal(void)
{
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

void audit_change(const AuditCaller *caller, const char *request, const char *old_value,
        const char *new_value, const char *outcome)
{
        int uid, pid;

        assert(caller);
        assert(request);
        assert(old_value);
        assert(new_value);
        assert(outcome);

        uid = (int) caller->uid;
        pid = (int) caller->pid;

        /* Where stderr is not the journal, the same line there keeps the record; where it is, that
         * line would be a second copy of the structured record below. */
        if (!stderr_is_journal())
                log_notice("AUDIT request=%s uid=%d pid=%d old=%s new=%s outcome=%s", request, uid, pid,
                        old_value, new_value, outcome);
        (void) sd_journal_send("MESSAGE=%s by uid %d (pid %d): %s -> %s: %s", request, uid, pid, old_value,
                new_value, outcome, "MESSAGE_ID=" NV_AUDIT_MESSAGE_ID, "PRIORITY=%i", LOG_NOTICE,
                "NESTVIRT_REQUEST=%s", request, "NESTVIRT_CALLER_UID=%d", uid, "NESTVIRT_CALLER_PID=%d", pid,
                "NESTVIRT_OLD=%s", old_value, "NESTVIRT_NEW=%s", new_value, "NESTVIRT_OUTCOME=%s", outcome,
                NULL);
}
