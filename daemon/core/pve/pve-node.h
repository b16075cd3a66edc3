/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The node's facts (pve-vms.h has NvPveNode) and the checks of names we pass to pvesh. */

#include <stdbool.h>

/* The first qemu-server that knows the nested-virt CPU flag. */
#define NV_PVE_NESTED_VIRT_VERSION "9.0.27"

/* Compares two Debian versions as dpkg does (epoch, upstream version, revision; '~' sorts before
 * everything, letters before other characters). Returns <0, 0 or >0. */
int nv_deb_version_compare(const char *a, const char *b);

/* The Version: of an installed package in the text of /var/lib/dpkg/status; -ENOENT when it is
 * not installed. */
int nv_dpkg_status_version(const char *status, const char *package, char **ret);

/* A VMID as PVE allows it: digits, 100 to 999999999, no leading zero. */
bool nv_pve_vmid_valid(const char *vmid);
/* A node name: a host name label (letters, digits, '-' inside), at most 63 characters. */
bool nv_pve_node_name_valid(const char *node);
