/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stddef.h>

#include "status-info.h"

typedef enum {
        FIELD_STRING,
        FIELD_BOOL,
        FIELD_UINT32,
        FIELD_STRV,
        FIELD_SETTINGS,
} FieldKind;

/* One row per property of the contract: a new property is one line here and one field. */
static const struct {
        const char *name;
        const char *signature;
        FieldKind kind;
        size_t offset;
} property_map[] = {
        { "Version", "s", FIELD_STRING, offsetof(NvStatusInfo, version) },
        { "KernelRelease", "s", FIELD_STRING, offsetof(NvStatusInfo, kernel_release) },
        { "Vendor", "s", FIELD_STRING, offsetof(NvStatusInfo, vendor) },
        { "VendorId", "s", FIELD_STRING, offsetof(NvStatusInfo, vendor_id) },
        { "Module", "s", FIELD_STRING, offsetof(NvStatusInfo, module) },
        { "HardwareSupport", "b", FIELD_BOOL, offsetof(NvStatusInfo, hardware_support) },
        { "Role", "s", FIELD_STRING, offsetof(NvStatusInfo, role) },
        { "Hypervisor", "s", FIELD_STRING, offsetof(NvStatusInfo, hypervisor) },
        { "ModuleState", "s", FIELD_STRING, offsetof(NvStatusInfo, module_state) },
        { "ModuleRefCount", "u", FIELD_UINT32, offsetof(NvStatusInfo, module_ref_count) },
        { "Nested", "s", FIELD_STRING, offsetof(NvStatusInfo, nested) },
        { "NestedNextLoad", "s", FIELD_STRING, offsetof(NvStatusInfo, nested_next_load) },
        { "NestedNextLoadSource", "s", FIELD_STRING, offsetof(NvStatusInfo, nested_next_load_source) },
        { "NestedSettings", "a(sss)", FIELD_SETTINGS, offsetof(NvStatusInfo, nested_settings) },
        { "NestedOverridden", "as", FIELD_STRV, offsetof(NvStatusInfo, nested_overridden) },
        { "NestedConflict", "b", FIELD_BOOL, offsetof(NvStatusInfo, nested_conflict) },
        { "ModulesDisabled", "b", FIELD_BOOL, offsetof(NvStatusInfo, modules_disabled) },
        { "VMCount", "u", FIELD_UINT32, offsetof(NvStatusInfo, vm_count) },
};

static void nested_setting_free(gpointer p)
{
        NvNestedSetting *s = p;

        g_free(s->source);
        g_free(s->value);
        g_free(s->effect);
        g_free(s);
}

static GPtrArray *settings_from_variant(GVariant *value)
{
        GPtrArray *settings = g_ptr_array_new_with_free_func(nested_setting_free);
        const char *source, *setting, *effect;
        GVariantIter iter;

        g_variant_iter_init(&iter, value);
        while (g_variant_iter_next(&iter, "(&s&s&s)", &source, &setting, &effect)) {
                NvNestedSetting *s = g_new0(NvNestedSetting, 1);

                s->source = g_strdup(source);
                s->value = g_strdup(setting);
                s->effect = g_strdup(effect);
                g_ptr_array_add(settings, s);
        }
        return settings;
}

static void store_field(NvStatusInfo *info, FieldKind kind, size_t offset, GVariant *value)
{
        void *field = (char *) info + offset;

        /* A property sent twice keeps the last value, like a dict would. */
        switch (kind) {
        case FIELD_STRING:
                g_free(*(char **) field);
                *(char **) field = g_variant_dup_string(value, NULL);
                break;
        case FIELD_BOOL:
                ((NvOptBool *) field)->set = TRUE;
                ((NvOptBool *) field)->value = g_variant_get_boolean(value);
                break;
        case FIELD_UINT32:
                ((NvOptUint32 *) field)->set = TRUE;
                ((NvOptUint32 *) field)->value = g_variant_get_uint32(value);
                break;
        case FIELD_STRV:
                g_strfreev(*(char ***) field);
                *(char ***) field = g_variant_dup_strv(value, NULL);
                break;
        case FIELD_SETTINGS:
                g_clear_pointer((GPtrArray **) field, g_ptr_array_unref);
                *(GPtrArray **) field = settings_from_variant(value);
                break;
        }
}

NvStatusInfo *nv_status_info_new(GVariant *props)
{
        NvStatusInfo *info = g_new0(NvStatusInfo, 1);
        GVariantIter iter;
        const char *name;
        GVariant *value;

        g_variant_iter_init(&iter, props);
        while (g_variant_iter_loop(&iter, "{&sv}", &name, &value)) {
                for (size_t i = 0; i < G_N_ELEMENTS(property_map); i++) {
                        if (!g_str_equal(name, property_map[i].name))
                                continue;
                        /* A type other than the contract's is treated as absent, never trusted. */
                        if (g_variant_is_of_type(value, G_VARIANT_TYPE(property_map[i].signature)))
                                store_field(info, property_map[i].kind, property_map[i].offset, value);
                        break;
                }
        }

        return info;
}

void nv_status_info_free(NvStatusInfo *info)
{
        if (!info)
                return;

        /* Freed through the map, so a field added there can not be forgotten here. */
        for (size_t i = 0; i < G_N_ELEMENTS(property_map); i++) {
                void *field = (char *) info + property_map[i].offset;

                switch (property_map[i].kind) {
                case FIELD_STRING:
                        g_free(*(char **) field);
                        break;
                case FIELD_STRV:
                        g_strfreev(*(char ***) field);
                        break;
                case FIELD_SETTINGS:
                        g_clear_pointer((GPtrArray **) field, g_ptr_array_unref);
                        break;
                case FIELD_BOOL:
                case FIELD_UINT32:
                        break;
                }
        }
        g_free(info);
}
