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

/* The decision nv_virt_detect() makes from the strings it read: dmi holds sys_vendor,
 * product_name, board_vendor and bios_vendor (each the first line without trailing whitespace,
 * or NULL when unreadable), hypervisor_type /sys/hypervisor/type (or NULL). */
#define NV_DMI_FIELDS 4
int nv_virt_decide(const char *const dmi[NV_DMI_FIELDS], const char *hypervisor_type,
        bool cpu_hypervisor_flag, NvVirt *ret);

/* Maps a DMI vendor or product string to a hypervisor id, or NULL. Exposed for tests. */
const char *nv_virt_from_dmi(const char *s);
