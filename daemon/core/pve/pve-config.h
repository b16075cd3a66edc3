/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A VM's config as qm.conf(5) and qemu-server's parser define it: "key: value" lines of the
 * current config, then sections: "[PENDING]" (changes for the next start, with "delete: a,b"),
 * "[special:cloudinit]" and the like, and "[snapname]" for each snapshot. Only the current config
 * and [PENDING] are kept; "#" lines (the description) and lines the parser would refuse are
 * skipped, as qemu-server skips them with a warning.
 */

#include <stdbool.h>
#include <stddef.h>

typedef struct NvPveProp {
        char *key;
        char *value;
} NvPveProp;

typedef struct NvPveConf {
        NvPveProp *main; /* the current config; a key occurs once (the last line wins) */
        size_t n_main;
        NvPveProp *pending; /* [PENDING], without "delete" */
        size_t n_pending;
        char **pending_delete; /* [PENDING]'s "delete:" keys, without a force mark "!" */
} NvPveConf;

/* -EBADMSG for a NUL byte, -ENOMEM. */
int nv_pve_conf_parse(const char *text, size_t len, NvPveConf *ret);
void nv_pve_conf_done(NvPveConf *c);

/* The current value of key, or NULL. */
const char *nv_pve_conf_get(const NvPveConf *c, const char *key);
/* The value for the next start: [PENDING] applied as qemu-server applies it (a pending delete
 * removes the key even when [PENDING] also sets it), or NULL. */
const char *nv_pve_conf_get_next(const NvPveConf *c, const char *key);
/* The next start's value differs from the current one. */
bool nv_pve_conf_pending_changes(const NvPveConf *c, const char *key);
