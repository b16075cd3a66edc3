/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Enum <-> string lookups generated from one table, so a value and its name are written once:
 *
 *   static const char *const nv_nested_table[] = { [NV_NESTED_ENABLED] = "enabled", ... };
 *   NV_DEFINE_STRING_TABLE(nv_nested, NvNested)
 *
 * defines nv_nested_to_string() (NULL for a value without a name) and nv_nested_from_string()
 * (the value, or -1 for an unknown or NULL string). The _FALLBACK form names every value outside
 * the table after the fallback value instead, for callers that print whatever they get.
 * NV_DECLARE_STRING_TABLE goes into the header.
 */

#include <stddef.h>
#include <string.h>

#define NV_DECLARE_STRING_TABLE(name, type)   \
        const char *name##_to_string(type v); \
        int name##_from_string(const char *s);

#define NV_DEFINE_STRING_TABLE_FROM_STRING(name, type)                                      \
        int name##_from_string(const char *s)                                               \
        {                                                                                   \
                if (!s)                                                                     \
                        return -1;                                                          \
                for (size_t i = 0; i < sizeof(name##_table) / sizeof(name##_table[0]); i++) \
                        if (name##_table[i] && strcmp(name##_table[i], s) == 0)             \
                                return (int) i;                                             \
                return -1;                                                                  \
        }

#define NV_DEFINE_STRING_TABLE(name, type)                                        \
        const char *name##_to_string(type v)                                      \
        {                                                                         \
                if ((size_t) v >= sizeof(name##_table) / sizeof(name##_table[0])) \
                        return NULL;                                              \
                return name##_table[v];                                           \
        }                                                                         \
        NV_DEFINE_STRING_TABLE_FROM_STRING(name, type)

#define NV_DEFINE_STRING_TABLE_FALLBACK(name, type, fallback)                                         \
        const char *name##_to_string(type v)                                                          \
        {                                                                                             \
                if ((size_t) v >= sizeof(name##_table) / sizeof(name##_table[0]) || !name##_table[v]) \
                        return name##_table[fallback];                                                \
                return name##_table[v];                                                               \
        }                                                                                             \
        NV_DEFINE_STRING_TABLE_FROM_STRING(name, type)
