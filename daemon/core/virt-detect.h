/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

typedef struct NvVirt {
        bool guest;
        char *hypervisor; /* systemd-detect-virt style id, "unknown", or NULL on a host */
} NvVirt;

/* Decides host or guest from the CPU's hypervisor flag, /sys/hypervisor/type and the DMI strings
 * under /sys/class/dmi/id. */
int nv_virt_detect(bool cpu_hypervisor_flag, NvVirt *ret);
void nv_virt_done(NvVirt *v);

/* Maps a DMI vendor or product string to a hypervisor id, or NULL. Exposed for tests. */
const char *nv_virt_from_dmi(const char *s);
