/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "bus-host.h"
#include "nestvirt-bus.h"

/*
 * Every property is a pure function of the snapshot. The tables below serve the reads and, by
 * comparing two snapshots, decide which PropertiesChanged to send.
 */

static const char *host_kernel_release(const NvHost *h)
{
        return h->kernel_release;
}

static const char *host_vendor(const NvHost *h)
{
        return nv_vendor_to_string(h->cpu.vendor);
}

static const char *host_vendor_id(const NvHost *h)
{
        return h->cpu.vendor_id;
}

static const char *host_module(const NvHost *h)
{
        return h->module;
}

static const char *host_role(const NvHost *h)
{
        return h->virt.guest ? "guest" : "host";
}

static const char *host_hypervisor(const NvHost *h)
{
        return h->virt.guest ? h->virt.hypervisor : NULL;
}

static const char *host_module_state(const NvHost *h)
{
        return h->module ? nv_module_state_to_string(h->module_state) : "unavailable";
}

static const char *host_nested(const NvHost *h)
{
        return nv_nested_to_string(h->nested);
}

static const char *host_next_load(const NvHost *h)
{
        return nv_nested_to_string(h->config.next_load);
}

static const char *host_next_load_source(const NvHost *h)
{
        return h->config.source;
}

/* Constant properties describe the machine and cannot change while the daemon runs. */
typedef struct StringProperty {
        const char *name;
        const char *(*get)(const NvHost *h);
        bool emits_change;
} StringProperty;

static const StringProperty string_properties[] = {
        { "KernelRelease", host_kernel_release, false },
        { "Vendor", host_vendor, false },
        { "VendorId", host_vendor_id, false },
        { "Module", host_module, false },
        { "Role", host_role, false },
        { "Hypervisor", host_hypervisor, false },
        { "ModuleState", host_module_state, true },
        { "Nested", host_nested, true },
        { "NestedNextLoad", host_next_load, true },
        { "NestedNextLoadSource", host_next_load_source, true },
};

static bool host_hardware_support(const NvHost *h)
{
        return nv_cpu_info_hardware_support(&h->cpu);
}

static bool host_conflict(const NvHost *h)
{
        return h->config.conflict;
}

static bool host_modules_disabled(const NvHost *h)
{
        return h->modules_disabled;
}

typedef struct BoolProperty {
        const char *name;
        bool (*get)(const NvHost *h);
        bool emits_change;
} BoolProperty;

static const BoolProperty bool_properties[] = {
        { "HardwareSupport", host_hardware_support, false },
        { "NestedConflict", host_conflict, true },
        { "ModulesDisabled", host_modules_disabled, true },
};

int property_get_string(sd_bus *bus, const char *path, const char *interface, const char *property,
        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const NvHost *h = *(NvHost *const *) userdata;

        for (size_t i = 0; i < ELEMENTSOF(string_properties); i++)
                if (streq(string_properties[i].name, property))
                        return sd_bus_message_append(reply, "s", strempty(string_properties[i].get(h)));
        return -ENOENT;
}

int property_get_bool(sd_bus *bus, const char *path, const char *interface, const char *property,
        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const NvHost *h = *(NvHost *const *) userdata;

        for (size_t i = 0; i < ELEMENTSOF(bool_properties); i++)
                if (streq(bool_properties[i].name, property))
                        return sd_bus_message_append(reply, "b", (int) bool_properties[i].get(h));
        return -ENOENT;
}

int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        return sd_bus_message_append(reply, "s", PACKAGE_VERSION);
}

int property_get_refcount(sd_bus *bus, const char *path, const char *interface, const char *property,
        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const NvHost *h = *(NvHost *const *) userdata;
        return sd_bus_message_append(reply, "u", (uint32_t) h->refcnt);
}

int property_get_vm_count(sd_bus *bus, const char *path, const char *interface, const char *property,
        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const NvHost *h = *(NvHost *const *) userdata;
        return sd_bus_message_append(reply, "u", (uint32_t) h->vm_count);
}

int property_get_settings(sd_bus *bus, const char *path, const char *interface, const char *property,
        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const NvNestedConfig *c = &(*(NvHost *const *) userdata)->config;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(sss)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < c->n_settings; i++) {
                const NvNestedSetting *s = &c->settings[i];
                r = sd_bus_message_append(
                        reply, "(sss)", s->source, strempty(s->value), nv_nested_to_string(s->effect));
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

int property_get_overridden(sd_bus *bus, const char *path, const char *interface, const char *property,
        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const NvHost *h = *(NvHost *const *) userdata;
        static char *empty[] = { NULL };
        return sd_bus_message_append_strv(reply, h->config.overridden ?: empty);
}

static bool settings_equal(const NvNestedConfig *a, const NvNestedConfig *b)
{
        if (a->n_settings != b->n_settings)
                return false;
        for (size_t i = 0; i < a->n_settings; i++)
                if (!streq(a->settings[i].source, b->settings[i].source) ||
                        !streq_ptr(a->settings[i].value, b->settings[i].value) ||
                        a->settings[i].effect != b->settings[i].effect)
                        return false;
        return true;
}

int bus_host_emit_changes(sd_bus *bus, const NvHost *old, const NvHost *new)
{
        _cleanup_strv_free_ char **changed = NULL;
        int r = 0;

        for (size_t i = 0; i < ELEMENTSOF(string_properties) && r >= 0; i++)
                if (string_properties[i].emits_change &&
                        !streq(strempty(string_properties[i].get(old)),
                                strempty(string_properties[i].get(new))))
                        r = strv_extend(&changed, string_properties[i].name);
        for (size_t i = 0; i < ELEMENTSOF(bool_properties) && r >= 0; i++)
                if (bool_properties[i].emits_change &&
                        bool_properties[i].get(old) != bool_properties[i].get(new))
                        r = strv_extend(&changed, bool_properties[i].name);
        if (r >= 0 && old->refcnt != new->refcnt)
                r = strv_extend(&changed, "ModuleRefCount");
        if (r >= 0 && old->vm_count != new->vm_count)
                r = strv_extend(&changed, "VMCount");
        if (r >= 0 && !settings_equal(&old->config, &new->config))
                r = strv_extend(&changed, "NestedSettings");
        if (r >= 0 && !strv_equal(old->config.overridden, new->config.overridden))
                r = strv_extend(&changed, "NestedOverridden");
        if (r < 0)
                return r;

        if (!changed)
                return 0;
        return sd_bus_emit_properties_changed_strv(bus, NESTVIRT_OBJECT_PATH, NESTVIRT_INTERFACE, changed);
}
