/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Fixture host trees for the unit tests. A host is tests/fixtures/hosts/NAME laid out as a root
 * file system; nv_fixture_new() builds it in a fresh temporary directory with
 * tests/fixtures/make-host.sh (the builder the bus tier and tools/try.sh use too), which copies
 * the tree, adds what git cannot store (empty directories, holder links, the generated
 * /lib/modules trees) as NAME/FIXTURE describes (the format is in the script), and then points
 * NESTVIRT_ROOT at it.
 *
 * All roots live below one directory that nv_fixture_global_init() makes and
 * nv_fixture_global_done() removes, so that a test that fails in a forked child leaves nothing.
 */

#include <check.h>

typedef struct NvFixture {
        char *name; /* the host's name, or NULL for a blank root */
        char *root; /* the temporary root; NESTVIRT_ROOT while the fixture lives */
} NvFixture;

int nv_fixture_global_init(void);
void nv_fixture_global_done(void);

/* The source tree's tests/fixtures/REL (NESTVIRT_SOURCE_ROOT, or the build's source root). */
char *nv_fixture_source_path(const char *rel);

/* Sets up host NAME, or a blank root when name is NULL. */
int nv_fixture_new(const char *name, NvFixture **ret);
/* Removes the tree and unsets NESTVIRT_ROOT. */
NvFixture *nv_fixture_free(NvFixture *f);

/* Writes a file below the root (host_path is absolute), creating its directories. */
int nv_fixture_write(NvFixture *f, const char *host_path, const char *content);
/* Removes a file below the root. */
int nv_fixture_remove(NvFixture *f, const char *host_path);

/* The names of all fixture hosts, sorted; a NULL-terminated list. */
int nv_fixture_list_hosts(char ***ret);

/* Runs suite s between nv_fixture_global_init() and nv_fixture_global_done(); returns the exit
 * status for main(). */
int nv_fixture_run_suite(Suite *s);

/* The same, for suites whose code reaches libkmod: they refuse to run without the preload
 * library, which keeps libkmod away from this machine's /sys/module and its real modules. */
int nv_fixture_run_suite_preloaded(Suite *s);
