/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Libraries loaded with dlopen() on first use, so that a daemon that does not need one does not
 * map it (and everything it links). Code is compiled against the library's headers and calls
 * sym_* pointers that stay NULL until the library's dlopen_*() call succeeded. Single-threaded, as
 * the daemon is.
 */

#define NV_DLSYM_PROTOTYPE(symbol) extern typeof(symbol) *sym_##symbol
#define NV_DLSYM_DEFINE(symbol)    typeof(symbol) *sym_##symbol = NULL
/* One symbol for dlopen_many(): where it goes, and its name. */
#define NV_DLSYM_ARG(symbol) (void **) &sym_##symbol, #symbol

/* Opens filename into *dlp and fills the (void **, name) pairs that follow, up to a NULL: every
 * pointer or none, so that a library too old for one symbol is not half used. Again after success
 * is a no-op. 0, -EOPNOTSUPP when the library cannot be loaded (not installed), -ENXIO when it
 * lacks a symbol (too old); then dlopen_error() says why. A library that lacks a symbol stays
 * mapped (NODELETE), unused. */
int dlopen_many(void **dlp, const char *filename, int flags, ...);

/* flags for dlopen_many(): the library's symbols resolve as a linked library's would (global
 * scope, RTLD_DEFAULT), so that a preload library interposes on them too; the QEMU tier's
 * break-guard does, for libkmod. */
#define NV_DLOPEN_INTERPOSABLE 1

/* The dynamic loader's message for the last failed dlopen_*() call, never NULL. */
const char *dlopen_error(void);
