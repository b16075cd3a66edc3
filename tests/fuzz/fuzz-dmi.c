/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * DMI strings (/sys/class/dmi/id/{sys_vendor,product_name,board_vendor,bios_vendor}) and
 * /sys/hypervisor/type: firmware's, and in a guest the hypervisor's. The input is up to five
 * lines in that order, each treated as the daemon reads such a file (trailing whitespace
 * removed); a missing line is an unreadable file. The first byte's low bit is the CPU's
 * hypervisor flag.
 */
#include "fuzz-util.h"
#include "util.h"
#include "virt-detect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *text = NULL;
        const char *fields[NV_DMI_FIELDS + 1] = {};
        bool cpu_flag;
        NvVirt virt;
        char *p;
        int r;

        if (size < 1 || size > FUZZ_MAX_INPUT)
                return 0;
        cpu_flag = data[0] & 1;
        text = fuzz_strndup(data + 1, size - 1);

        p = text;
        for (size_t i = 0; i < ELEMENTSOF(fields) && p; i++) {
                char *nl = strchr(p, '\n');

                if (nl)
                        *nl = 0;
                fields[i] = strstrip_end(p);
                p = nl ? nl + 1 : NULL;
        }

        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                const char *id = nv_virt_from_dmi(fields[i]);
                fuzz_assert(!id || strlen(id) > 0);
        }

        r = nv_virt_decide(fields, fields[NV_DMI_FIELDS], cpu_flag, &virt);
        fuzz_assert(r == 0 || r == -ENOMEM);
        if (r < 0)
                return 0;
        fuzz_assert(virt.guest == !!virt.hypervisor);
        /* The CPU's flag alone makes a guest. */
        if (cpu_flag)
                fuzz_assert(virt.guest);
        nv_virt_done(&virt);
        return 0;
}
