/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What libkmod says about the vendor module: its state and the configuration of "nested". */

#include <stdbool.h>

#include "kvm-module.h"
#include "nested-config.h"

typedef struct NvModuleFacts {
        NvModuleState state;
        unsigned refcnt; /* 0 unless loaded */
        NvNestedConfig config;
} NvModuleFacts;

/*
 * Reads the facts for module of kernel release. By default libkmod answers in this process; after
 * nv_module_facts_isolate(true) a child process loads it and answers through a pipe, so that this
 * process never maps libkmod (and the libcrypto it links) only to look. Negative errno, or -EPROTO
 * when the child failed.
 */
int nv_module_facts_read(
        const char *release, const char *module, NvNested kernel_default, NvModuleFacts *ret);
void nv_module_facts_isolate(bool isolate);
void nv_module_facts_done(NvModuleFacts *f);
