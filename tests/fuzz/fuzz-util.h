/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Shared by the harnesses: each input is a byte string of any content and length, and the
 * harness must be deterministic and never read the real host. Harnesses that make the core read
 * files point NESTVIRT_ROOT at a private temporary root (removed at exit).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Inputs larger than this are skipped: no parser here sees more in practice, and bigger inputs
 * only slow the search down. */
#define FUZZ_MAX_INPUT (64u * 1024u)

/* A NUL-terminated copy of the input (which may hold NULs of its own); aborts on ENOMEM. */
char *fuzz_strndup(const uint8_t *data, size_t size);

/* Creates the temporary root on first use and points NESTVIRT_ROOT at it. */
const char *fuzz_root(void);

/* Writes a file under the root (host_path is absolute), creating its directories; aborts on
 * failure. */
void fuzz_write(const char *host_path, const void *data, size_t size);

/* Fails unless tests/preload's nv-preload.so is loaded: libkmod reads /proc/cmdline itself, and
 * only the preload library redirects that read into the root. */
void fuzz_require_preload(void);

/* Ends the process with a message when an invariant of the parser does not hold: libFuzzer
 * records the input as a crash. */
#define fuzz_assert(expr)                                     \
        do {                                                  \
                if (!(expr))                                  \
                        fuzz_fail(__FILE__, __LINE__, #expr); \
        } while (0)
_Noreturn void fuzz_fail(const char *file, int line, const char *expr);
