/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The "cpu" property of a VM config (qm.conf(5)), a property string:
 *   [[cputype=]<string>][,flags=<+FLAG[;-FLAG...]>][,hidden=<1|0>][,hv-vendor-id=<id>]
 *   [,phys-bits=<8-64|host>][,reported-model=<enum>][,guest-phys-bits=<32-64>]
 * Parsed into its parts so that an edit changes the nesting flag or the CPU type and leaves every
 * other part, and the order of the parts, as written.
 */

#include <stdbool.h>

typedef struct NvPveCpu {
        char **parts; /* every non-blank part as written, in order */
        char *cputype; /* the CPU type (with or without "cputype="), or NULL */
        char **flags; /* the entries of "flags=" ("+aes", "-nested-virt"), in order */
} NvPveCpu;

/* -EBADMSG when qemu-server would refuse it: a duplicate key, "key=" without a value, a flag
 * entry that is not +NAME or -NAME. s may be NULL (no cpu setting). */
int nv_pve_cpu_parse(const char *s, NvPveCpu *ret);
void nv_pve_cpu_done(NvPveCpu *c);

/* The value of key ("hidden", "reported-model", ...), or NULL. */
const char *nv_pve_cpu_get(const NvPveCpu *c, const char *key);

/* '+' or '-' for the last entry of flag name in flags (later entries win, as in qemu-server),
 * or 0 when there is none. */
char nv_pve_flags_op(char *const *flags, const char *name);
/* The same for a ';'-separated flag list as written ("+aes;+vmx"); NULL gives 0. */
char nv_pve_flag_list_op(const char *list, const char *name);

/* Removes every entry of name from flags, then appends op (when not 0) followed by name. */
int nv_pve_cpu_set_flag(NvPveCpu *c, const char *name, char op);
/* Replaces the CPU type, keeping how it was written ("cputype=" or not). */
int nv_pve_cpu_set_type(NvPveCpu *c, const char *cputype);

/* The property string again: the parts in their order, an edited part rewritten, "flags="
 * dropped when it is empty, a new part at the end (the CPU type at the start). */
int nv_pve_cpu_format(const NvPveCpu *c, char **ret);
