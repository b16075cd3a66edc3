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
        int config_error; /* negative errno when the configuration could not be read: config empty */
} NvModuleFacts;

/*
 * Reads the facts for module of kernel release. By default libkmod answers in this process; after
 * nv_module_facts_isolate(true) a child process loads it and answers through a pipe, so that this
 * process never maps libkmod (and the libcrypto it links) only to look. Negative errno when the state could
 * not be read; -EPROTO when the child failed, ran out of memory or did not answer within
 * NV_MODULE_FACTS_TIMEOUT_SEC.
 */
#define NV_MODULE_FACTS_TIMEOUT_SEC 10
int nv_module_facts_read(
        const char *release, const char *module, NvNested kernel_default, NvModuleFacts *ret);
void nv_module_facts_isolate(bool isolate);
void nv_module_facts_done(NvModuleFacts *f);
