/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "prop-fields.h"

static void store_field(void *record, const NvPropertyField *f, GVariant *value)
{
        void *field = (char *) record + f->offset;

        /* A property sent twice keeps the last value, like a dict would. */
        switch (f->kind) {
        case NV_FIELD_STRING:
                g_free(*(char **) field);
                *(char **) field = g_variant_dup_string(value, NULL);
                break;
        case NV_FIELD_BOOL:
                ((NvOptBool *) field)->set = TRUE;
                ((NvOptBool *) field)->value = g_variant_get_boolean(value);
                break;
        case NV_FIELD_UINT32:
                ((NvOptUint32 *) field)->set = TRUE;
                ((NvOptUint32 *) field)->value = g_variant_get_uint32(value);
                break;
        case NV_FIELD_STRV:
                g_strfreev(*(char ***) field);
                *(char ***) field = g_variant_dup_strv(value, NULL);
                break;
        case NV_FIELD_ARRAY:
                g_clear_pointer((GPtrArray **) field, g_ptr_array_unref);
                *(GPtrArray **) field = f->parse_array(value);
                break;
        }
}

void nv_property_fields_store(void *record, const NvPropertyField *fields, size_t n_fields, GVariant *props)
{
        GVariantIter iter;
        const char *name;
        GVariant *value;

        g_variant_iter_init(&iter, props);
        while (g_variant_iter_loop(&iter, "{&sv}", &name, &value)) {
                for (size_t i = 0; i < n_fields; i++) {
                        if (!g_str_equal(name, fields[i].name))
                                continue;
                        if (g_variant_is_of_type(value, G_VARIANT_TYPE(fields[i].signature)))
                                store_field(record, &fields[i], value);
                        break;
                }
        }
}

void nv_property_fields_clear(void *record, const NvPropertyField *fields, size_t n_fields)
{
        /* Freed through the table, so a field added there can not be forgotten here. */
        for (size_t i = 0; i < n_fields; i++) {
                void *field = (char *) record + fields[i].offset;

                switch (fields[i].kind) {
                case NV_FIELD_STRING:
                        g_clear_pointer((char **) field, g_free);
                        break;
                case NV_FIELD_STRV:
                        g_clear_pointer((char ***) field, g_strfreev);
                        break;
                case NV_FIELD_ARRAY:
                        g_clear_pointer((GPtrArray **) field, g_ptr_array_unref);
                        break;
                case NV_FIELD_BOOL:
                case NV_FIELD_UINT32:
                        break;
                }
        }
}
