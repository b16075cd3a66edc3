/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The JSON form of the interface's properties mirrors the GetAll reply field for field, so tests
 * can compare it with the bus: one key per property, named exactly as on D-Bus, in the reply's
 * order.
 *
 *   {
 *     "Version":              string,
 *     "KernelRelease":        string,
 *     "Vendor":               string,   "intel" | "amd" | "unknown"
 *     "VendorId":             string,
 *     "Module":               string,   "kvm_intel" | "kvm_amd" | ""
 *     "HardwareSupport":      boolean,
 *     "Role":                 string,   "host" | "guest"
 *     "Hypervisor":           string,
 *     "ModuleState":          string,   "loaded" | "builtin" | "not-loaded" | "unavailable"
 *     "ModuleRefCount":       number,
 *     "Nested":               string,   "enabled" | "disabled" | "unknown"
 *     "NestedNextLoad":       string,   "enabled" | "disabled" | "invalid" | "unknown"
 *     "NestedNextLoadSource": string,
 *     "NestedSettings":       [ { "source": string, "value": string, "effect": string }, ... ],
 *     "NestedOverridden":     [ string, ... ],
 *     "NestedConflict":       boolean,
 *     "ModulesDisabled":      boolean,
 *     "VMCount":              number
 *   }
 *
 * The forms of "vms", "vm", "check" and "monitor" are described where they are built, below.
 *
 * A property the daemon does not send is absent. Every value but NestedSettings' is converted by
 * json-glib's GVariant serializer: integers as numbers, strings, object paths and signatures as
 * strings, arrays as arrays, dictionaries as objects, structs as arrays, variants as their
 * content, an empty maybe as null; so a property this client does not know is still printed. The
 * struct shapes of the contract (NestedSettings, ListVMs, Check) get member names instead.
 */

#include <json-glib/json-glib.h>
#include <stdio.h>

#include "json-output.h"

/* NestedSettings, a(sss), as [{"source", "value", "effect"}, ...]. */
static JsonNode *settings_node(GVariant *value)
{
        g_autoptr(JsonBuilder) b = json_builder_new();
        const char *source, *setting, *effect;
        GVariantIter iter;

        json_builder_begin_array(b);
        g_variant_iter_init(&iter, value);
        while (g_variant_iter_next(&iter, "(&s&s&s)", &source, &setting, &effect)) {
                json_builder_begin_object(b);
                json_builder_set_member_name(b, "source");
                json_builder_add_string_value(b, source);
                json_builder_set_member_name(b, "value");
                json_builder_add_string_value(b, setting);
                json_builder_set_member_name(b, "effect");
                json_builder_add_string_value(b, effect);
                json_builder_end_object(b);
        }
        json_builder_end_array(b);
        return json_builder_get_root(b);
}

JsonNode *nv_json_property_node(const char *name, GVariant *value)
{
        if (g_str_equal(name, "NestedSettings") && g_variant_is_of_type(value, G_VARIANT_TYPE("a(sss)")))
                return settings_node(value);
        return json_gvariant_serialize(value);
}

NvExitCode nv_json_print_node(JsonNode *root, NvJsonMode mode)
{
        g_autoptr(JsonGenerator) gen = json_generator_new();
        g_autofree char *text = NULL;

        json_generator_set_root(gen, root);
        json_generator_set_pretty(gen, mode == NV_JSON_PRETTY);
        json_generator_set_indent(gen, 2);
        json_generator_set_indent_char(gen, ' ');
        text = json_generator_to_data(gen, NULL);

        printf("%s\n", text);
        return NV_EXIT_SUCCESS;
}

static NvExitCode print_object(JsonObject *o, NvJsonMode mode)
{
        g_autoptr(JsonNode) root = json_node_init_object(json_node_alloc(), o);

        return nv_json_print_node(root, mode);
}

/* Adds one member per property of props (an a{sv}), in its order. */
static void add_properties(JsonObject *o, GVariant *props)
{
        GVariantIter iter;
        const char *name;
        GVariant *value;

        g_variant_iter_init(&iter, props);
        while (g_variant_iter_loop(&iter, "{&sv}", &name, &value))
                json_object_set_member(o, name, nv_json_property_node(name, value));
}

NvExitCode nv_json_print_properties(GVariant *props, NvJsonMode mode)
{
        g_autoptr(JsonObject) o = json_object_new();

        add_properties(o, props);
        return print_object(o, mode);
}

/* The change verbs' replies name their members after the properties they mirror. */
NvExitCode nv_json_print_set_nested(const NvSetNestedReply *r, NvJsonMode mode)
{
        g_autoptr(JsonObject) o = json_object_new();

        json_object_set_string_member(o, "Nested", r->nested);
        json_object_set_string_member(o, "NestedNextLoad", r->next_load);
        json_object_set_string_member(o, "NestedNextLoadSource", r->next_load_source);
        return print_object(o, mode);
}

NvExitCode nv_json_print_reset(const NvResetReply *r, NvJsonMode mode)
{
        g_autoptr(JsonObject) o = json_object_new();

        json_object_set_string_member(o, "NestedNextLoad", r->next_load);
        json_object_set_string_member(o, "NestedNextLoadSource", r->next_load_source);
        return print_object(o, mode);
}

NvExitCode nv_json_print_enforce(const char *nested, gboolean changed, NvJsonMode mode)
{
        g_autoptr(JsonObject) o = json_object_new();

        json_object_set_string_member(o, "Nested", nested);
        json_object_set_boolean_member(o, "Changed", changed);
        return print_object(o, mode);
}

/*
 * "vms" and "vm show": each VM object as one object, its D-Bus object path first and then every
 * property of org.nestvirt.NestVirt1.VM as the daemon sent it, named as on D-Bus:
 *
 *   { "ObjectPath": string, "Manager": string, "Id": string, "Name": string, "Running": boolean,
 *     "Pid": number, "ExposedNow": string, "CpuNow": string, "NextStart": string,
 *     "NextStartBy": string, "Cpu": string, "Requires": boolean, "Pending": boolean,
 *     "UsesKVM": boolean, "Lock": string, "Notes": [ string, ... ] }
 *
 * "vms" prints { "vms": [ those, sorted as the table ], "uninspected": number }; uninspected is
 * ListVMs' count of processes that could not be looked at, absent when ListVMs failed.
 */
static JsonObject *vm_object(const NvVmObject *vm)
{
        JsonObject *o = json_object_new();

        json_object_set_string_member(o, "ObjectPath", vm->path);
        add_properties(o, vm->props);
        return o;
}

NvExitCode nv_json_print_vm_objects(const NvVmObjectList *l, const guint32 *uninspected, NvJsonMode mode)
{
        g_autoptr(JsonObject) o = json_object_new();
        g_autoptr(JsonArray) vms = json_array_sized_new(l->vms->len);

        for (guint i = 0; i < l->vms->len; i++)
                json_array_add_object_element(vms, vm_object(l->vms->pdata[i]));
        json_object_set_array_member(o, "vms", g_steal_pointer(&vms));
        if (uninspected)
                json_object_set_int_member(o, "uninspected", *uninspected);
        return print_object(o, mode);
}

NvExitCode nv_json_print_vm_object(const NvVmObject *vm, NvJsonMode mode)
{
        g_autoptr(JsonObject) o = vm_object(vm);

        return print_object(o, mode);
}

/*
 * "vm expose" and "vm hide": SetExposure's reply, { "NextStart": string, "RestartNeeded":
 * boolean, "Notes": [ string, ... ] }; with --enable-host also the members of enable's.
 */
NvExitCode nv_json_print_set_exposure(
        const NvSetExposureReply *r, const NvSetNestedReply *host, NvJsonMode mode)
{
        g_autoptr(JsonObject) o = json_object_new();
        JsonArray *notes = json_array_new();

        json_object_set_string_member(o, "NextStart", r->next_start);
        json_object_set_boolean_member(o, "RestartNeeded", r->restart_needed);
        for (const char **n = r->notes; n && *n; n++)
                json_array_add_string_element(notes, *n);
        json_object_set_array_member(o, "Notes", notes);
        if (host) {
                json_object_set_string_member(o, "Nested", host->nested);
                json_object_set_string_member(o, "NestedNextLoad", host->next_load);
                json_object_set_string_member(o, "NestedNextLoadSource", host->next_load_source);
        }
        return print_object(o, mode);
}

/*
 * "check": Check as an array, one object per finding, in the daemon's order:
 *
 *   [ { "id": string, "level": "info" | "warning" | "error", "summary": string, "hint": string }, ... ]
 */
NvExitCode nv_json_print_findings(const NvFindingList *l, NvJsonMode mode)
{
        g_autoptr(JsonArray) a = json_array_sized_new(l->items->len);
        g_autoptr(JsonNode) root = NULL;

        for (guint i = 0; i < l->items->len; i++) {
                const NvFindingEntry *f = &g_array_index(l->items, NvFindingEntry, i);
                JsonObject *o = json_object_new();

                json_object_set_string_member(o, "id", f->id);
                json_object_set_string_member(o, "level", f->level);
                json_object_set_string_member(o, "summary", f->summary);
                json_object_set_string_member(o, "hint", f->hint);
                json_array_add_object_element(a, o);
        }
        root = json_node_init_array(json_node_alloc(), a);
        return nv_json_print_node(root, mode);
}
