/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

/*
 * Replaces a host file atomically: a temporary file next to it, fsync, rename over the target,
 * fsync of the directory. Readers see the old file or the new one, whole. Neither the temporary
 * file nor the target is followed if it is a symlink: the rename replaces the link itself.
 */
int nv_write_file_atomic(const char *host_path, const char *content, mode_t mode);

/* Removes a host file and makes the removal durable. Returns 1 when removed, 0 when absent. */
int nv_remove_file(const char *host_path);
