/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stddef.h>

#include "status-info.h"

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

/* One row per property of the contract: a new property is one line here and one field. */
static const NvPropertyField property_map[] = {
        { "Version", "s", NV_FIELD_STRING, offsetof(NvStatusInfo, version) },
        { "KernelRelease", "s", NV_FIELD_STRING, offsetof(NvStatusInfo, kernel_release) },
        { "Vendor", "s", NV_FIELD_STRING, offsetof(NvStatusInfo, vendor) },
        { "VendorId", "s", NV_FIELD_STRING, offsetof(NvStatusInfo, vendor_id) },
        { "Module", "s", NV_FIELD_STRING, offsetof(NvStatusInfo, module) },
        { "HardwareSupport", "b", NV_FIELD_BOOL, offsetof(NvStatusInfo, hardware_support) },
        { "Role", "s", NV_FIELD_STRING, offsetof(NvStatusInfo, role) },
        { "Hypervisor", "s", NV_FIELD_STRING, offsetof(NvStatusInfo, hypervisor) },
        { "ModuleState", "s", NV_FIELD_STRING, offsetof(NvStatusInfo, module_state) },
        { "ModuleRefCount", "u", NV_FIELD_UINT32, offsetof(NvStatusInfo, module_ref_count) },
        { "Nested", "s", NV_FIELD_STRING, offsetof(NvStatusInfo, nested) },
        { "NestedNextLoad", "s", NV_FIELD_STRING, offsetof(NvStatusInfo, nested_next_load) },
        { "NestedNextLoadSource", "s", NV_FIELD_STRING, offsetof(NvStatusInfo, nested_next_load_source) },
        { "NestedSettings", "a(sss)", NV_FIELD_ARRAY, offsetof(NvStatusInfo, nested_settings),
                settings_from_variant },
        { "NestedOverridden", "as", NV_FIELD_STRV, offsetof(NvStatusInfo, nested_overridden) },
        { "NestedConflict", "b", NV_FIELD_BOOL, offsetof(NvStatusInfo, nested_conflict) },
        { "ModulesDisabled", "b", NV_FIELD_BOOL, offsetof(NvStatusInfo, modules_disabled) },
        { "VMCount", "u", NV_FIELD_UINT32, offsetof(NvStatusInfo, vm_count) },
};

NvStatusInfo *nv_status_info_new(GVariant *props)
{
        NvStatusInfo *info = g_new0(NvStatusInfo, 1);

        nv_property_fields_store(info, property_map, G_N_ELEMENTS(property_map), props);
        return info;
}

void nv_status_info_free(NvStatusInfo *info)
{
        if (!info)
                return;

        nv_property_fields_clear(info, property_map, G_N_ELEMENTS(property_map));
        g_free(info);
}
