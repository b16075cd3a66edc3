/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* /proc/PID/status: the "Uid:" line gives the real uid of a KVM holder. */
#include <stdlib.h>

#include "fuzz-util.h"
#include "util.h"
#include "vm-discovery.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *text = NULL;
        const char *line;
        uid_t uid = 12345;
        int r;

        if (size > FUZZ_MAX_INPUT)
                return 0;
        text = fuzz_strndup(data, size);

        r = nv_proc_status_uid(text, &uid);
        fuzz_assert(r == 0 || r == -EBADMSG);
        if (r < 0) {
                fuzz_assert(uid == 12345);
                return 0;
        }
        fuzz_assert(uid != (uid_t) -1);
        /* The value is the digits that follow the first "Uid:" at the start of a line and its
         * blanks: no sign, nothing from the next line. */
        line = startswith(text, "Uid:") ? text : strstr(text, "\nUid:");
        fuzz_assert(line);
        line = strchr(line + (*line == '\n'), ':') + 1;
        line += strspn(line, " \t");
        fuzz_assert(*line >= '0' && *line <= '9');
        fuzz_assert(strtoul(line, NULL, 10) == (unsigned long) uid);
        return 0;
}
