/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The one place that maps a host path ("/proc/cpuinfo") to the file to open. When the environment
 * variable NESTVIRT_ROOT names a directory, that directory stands in for "/" (fixture trees in
 * tests, simulated hosts in demos). No other code spells a host path without passing it here.
 *
 * libkmod reads /sys/module and /proc/cmdline itself; under NESTVIRT_ROOT the test preload
 * library (tests/preload) redirects those reads into the same root.
 */

#include <stddef.h>
#include <sys/types.h>

/* The root in force: "" for the real "/", else the directory without a trailing slash. */
const char *nv_host_root(void);

/* Returns a newly allocated path for host_path (which must be absolute), or NULL on ENOMEM. */
char *nv_host_path(const char *host_path);

/* Reads a whole host file. Returns 0, or a negative errno (-ENOENT when it does not exist). */
int nv_host_read_file(const char *host_path, char **ret, size_t *ret_size);

/* Reads the first line of a host file with trailing whitespace removed. */
int nv_host_read_line(const char *host_path, char **ret);

/* Creates a host directory and any missing parents; 0 when it exists afterwards. */
int nv_host_mkdir(const char *host_path, mode_t mode);

/* The modprobe.d directories in libkmod's order of precedence. */
extern const char *const nv_modprobe_dirs[];
