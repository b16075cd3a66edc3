/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Proxmox VE's API through pvesh, run as a child without a shell: stdin from /dev/null, stdout
 * and stderr captured, a hard time bound after which the child's process group is killed.
 */

#include <stdbool.h>
#include <stddef.h>

#include "vm-config.h"

#define NV_PVESH_DEFAULT   "/usr/bin/pvesh"
#define NV_PVESH_TIMEOUT_S 60
/* More than any config prints; a child that writes more is stopped. */
#define NV_PVE_OUTPUT_LIMIT (1024u * 1024u)

typedef struct NvPveRun {
        bool timed_out; /* killed at the time bound */
        bool overflow; /* killed for writing more than NV_PVE_OUTPUT_LIMIT */
        bool exited; /* exited by itself; status holds its exit status */
        int status;
        char *out; /* NUL-terminated */
        size_t out_size;
        char *err;
        size_t err_size;
} NvPveRun;

void nv_pve_run_done(NvPveRun *r);

/* Runs argv (argv[0] a path) for at most timeout_ms. Returns 0 when it ran, whatever its outcome
 * (see ret), or a negative errno when it could not be started. */
int nv_pve_run(char *const argv[], unsigned timeout_ms, NvPveRun *ret);

/* NESTVIRT_PVESH or NV_PVESH_DEFAULT. */
const char *nv_pvesh_path(void);

/* Runs pvesh with args (NULL-terminated) under NV_PVESH_TIMEOUT_S. On failure (start, time
 * bound, exit status) returns -EIO and a sentence in *ret_error that has pvesh's own words;
 * else 0 and its stdout in *ret_out. */
int nv_pvesh_call(const char *const *args, char **ret_out, char **ret_error);

/* What pvesh's error text means for a change: NV_EXPOSE_NO_SUCH_VM when the config does not
 * exist, NV_EXPOSE_LOCKED for a lock, else NV_EXPOSE_MANAGER_FAILED. */
NvExposeStatus nv_pvesh_failure_status(const char *error);
