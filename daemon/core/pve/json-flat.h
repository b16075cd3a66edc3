/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A reader for the one JSON shape pvesh prints for a VM config: a single object whose members are
 * strings, numbers, booleans or null. Strings are decoded (\uXXXX escapes and surrogate pairs to
 * UTF-8); numbers, true and false keep their text; null and nested objects or arrays (skipped up
 * to a fixed depth) give no value.
 */

#include <stdbool.h>
#include <stddef.h>

typedef struct NvJsonMember {
        char *key;
        char *value; /* NULL for null, objects and arrays */
} NvJsonMember;

typedef struct NvJsonFlat {
        NvJsonMember *members; /* in input order; keys are unique */
        size_t n_members;
} NvJsonFlat;

/* Parses text[0..len). -EBADMSG for anything that is not one such object (trailing garbage, a
 * duplicate key, a NUL in a string, invalid UTF-16 escapes), -ENOMEM. */
int nv_json_flat_parse(const char *text, size_t len, NvJsonFlat *ret);
void nv_json_flat_done(NvJsonFlat *j);

/* The member's value, or NULL when it is absent or has none. */
const char *nv_json_flat_get(const NvJsonFlat *j, const char *key);
/* Whether the member exists at all (null included). */
bool nv_json_flat_has(const NvJsonFlat *j, const char *key);
