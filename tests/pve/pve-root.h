/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A Proxmox VE node under a blank fixture root, from tests/fixtures/pve: the VM configs, the
 * custom CPU models, dpkg's status with the qemu-server version asked for, /etc/pve/local ->
 * nodes/pve1, and VM 100 running as pid 4242 (pid file and /proc/4242/cmdline).
 */

#include "fixture.h"

#define PVE_NODE "pve1"

/* version: "9.0.30" or "8.4.1" (the dpkg-status-* fixtures), or NULL for no dpkg status. */
NvFixture *pve_root_new(const char *version);

/* Writes size bytes (NULs allowed) below the root. */
void pve_root_write(NvFixture *f, const char *host_path, const void *data, size_t size);
/* The text of a file below the root, or NULL when it does not exist. */
char *pve_root_read(NvFixture *f, const char *host_path);
