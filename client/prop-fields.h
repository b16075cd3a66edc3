/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <stddef.h>

/* A property that may be absent from the reply keeps that fact, so it can print as "n/a". */
typedef struct {
        gboolean set;
        gboolean value;
} NvOptBool;

typedef struct {
        gboolean set;
        guint32 value;
} NvOptUint32;

/* How a D-Bus property is stored in a field of a typed record. */
typedef enum {
        NV_FIELD_STRING, /* char *, NULL when absent */
        NV_FIELD_BOOL, /* NvOptBool */
        NV_FIELD_UINT32, /* NvOptUint32 */
        NV_FIELD_STRV, /* char **, NULL when absent */
        NV_FIELD_ARRAY, /* GPtrArray *, made by parse_array, NULL when absent */
} NvFieldKind;

/* One row per property of the contract: a new property is one line in a table of these and one
 * field in the record. */
typedef struct {
        const char *name;
        const char *signature;
        NvFieldKind kind;
        size_t offset;
        GPtrArray *(*parse_array)(GVariant *value); /* NV_FIELD_ARRAY only */
} NvPropertyField;

/* Stores the properties of props (an a{sv}) that fields name into record. Properties the table
 * does not know are skipped; one of another type than the contract's is treated as absent, never
 * trusted. */
void nv_property_fields_store(void *record, const NvPropertyField *fields, size_t n_fields, GVariant *props);

/* Frees what nv_property_fields_store() put into record (not record itself). */
void nv_property_fields_clear(void *record, const NvPropertyField *fields, size_t n_fields);
