/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Private to the findings: building the sentences of a finding and adding it to the list. */

#include <stddef.h>

#include "cpu-info.h"
#include "findings.h"
#include "nestvirt-string-table.h"

/* asprintf() that returns NULL on failure (asprintf leaves its pointer undefined then). */
__attribute__((format(printf, 1, 2))) char *text_new(const char *fmt, ...);

/* Appends to *s (which may be NULL). */
__attribute__((format(printf, 2, 3))) int text_append(char **s, const char *fmt, ...);

/* ", " or " and " before item i of n (nothing before the first). */
const char *list_sep(size_t i, size_t n);

/* Joins l in prose ("a", "a and b", "a, b and c"). */
int text_append_list(char **s, char *const *l);

/* The vendor's CPU flag: "vmx", "svm", or "vmx/svm" when the vendor is unknown. */
NV_DECLARE_STRING_TABLE(nv_vendor_flag, NvVendor)

/* Moves summary and hint (NULL: an allocation failed) into a new finding; on failure the caller
 * still owns them. */
int push(NvFindings *f, const char *id, NvLevel level, char **summary, char **hint);
