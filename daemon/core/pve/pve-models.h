/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Custom CPU models, /etc/pve/virtual-guest/cpu-models.conf: a PVE section config,
 *   cpu-model: NAME
 *           flags +aes;+vmx
 *           reported-model host
 *           phys-bits host
 * (a header line, then indented "key value" lines up to a blank line). A VM uses one as
 * "cpu: custom-NAME".
 */

#include <stddef.h>

#define NV_PVE_CPU_MODELS_FILE NV_PVE_CPU_MODELS_DIR "/cpu-models.conf"

typedef struct NvPveModel {
        char *name; /* without "custom-" */
        char *flags; /* as written ("+aes;+vmx"), or NULL: any QEMU flag may appear */
        char *reported_model; /* or NULL: qemu-server's default, kvm64 */
} NvPveModel;

typedef struct NvPveModels {
        NvPveModel *models;
        size_t n_models;
} NvPveModels;

int nv_pve_models_parse(const char *text, size_t len, NvPveModels *ret);
/* Reads the host's file; a missing file gives no models. */
int nv_pve_models_read(NvPveModels *ret);
void nv_pve_models_done(NvPveModels *m);

/* The model a VM's cputype "custom-NAME" names, or NULL (also for a cputype without the
 * prefix). */
const NvPveModel *nv_pve_models_find(const NvPveModels *m, const char *cputype);
