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
 * The forms of "vms", "check" and "monitor" are described where they are built, below.
 *
 * A property the daemon does not send is absent. A property this client does not know is still
 * printed, converted by its D-Bus type: integers as numbers, strings, object paths and signatures
 * as strings, arrays as arrays, dictionaries as objects, structs as arrays (or as objects when
 * struct_fields below names their members), variants as their content, an empty maybe as null.
 */

#include <json-glib/json-glib.h>
#include <stdio.h>

#include "json-output.h"

/* Member names for properties whose type is (or is an array of) a struct. */
static const struct {
        const char *property;
        const char *const *fields;
} struct_fields[] = {
        { "NestedSettings", (const char *const[]){ "source", "value", "effect", NULL } },
};

static const char *const *fields_for(const char *property)
{
        for (size_t i = 0; i < G_N_ELEMENTS(struct_fields); i++)
                if (g_str_equal(property, struct_fields[i].property))
                        return struct_fields[i].fields;
        return NULL;
}

static void add_value(JsonBuilder *b, GVariant *v, const char *const *fields);

static void add_dict(JsonBuilder *b, GVariant *v)
{
        GVariantIter iter;
        GVariant *entry;

        json_builder_begin_object(b);
        g_variant_iter_init(&iter, v);
        while ((entry = g_variant_iter_next_value(&iter))) {
                g_autoptr(GVariant) key = g_variant_get_child_value(entry, 0);
                g_autoptr(GVariant) value = g_variant_get_child_value(entry, 1);

                /* JSON keys are strings; other basic key types keep their D-Bus text form. */
                if (g_variant_is_of_type(key, G_VARIANT_TYPE_STRING) ||
                        g_variant_is_of_type(key, G_VARIANT_TYPE_OBJECT_PATH) ||
                        g_variant_is_of_type(key, G_VARIANT_TYPE_SIGNATURE))
                        json_builder_set_member_name(b, g_variant_get_string(key, NULL));
                else {
                        g_autofree char *text = g_variant_print(key, FALSE);
                        json_builder_set_member_name(b, text);
                }
                add_value(b, value, NULL);
                g_variant_unref(entry);
        }
        json_builder_end_object(b);
}

static void add_children(JsonBuilder *b, GVariant *v, const char *const *fields)
{
        gsize n = g_variant_n_children(v);
        gboolean named = g_variant_is_of_type(v, G_VARIANT_TYPE_TUPLE) && fields &&
                g_strv_length((char **) fields) == n;

        if (named)
                json_builder_begin_object(b);
        else
                json_builder_begin_array(b);

        for (gsize i = 0; i < n; i++) {
                g_autoptr(GVariant) child = g_variant_get_child_value(v, i);

                if (named) {
                        json_builder_set_member_name(b, fields[i]);
                        add_value(b, child, NULL);
                } else
                        /* Array elements share the array's member names. */
                        add_value(b, child, fields);
        }

        if (named)
                json_builder_end_object(b);
        else
                json_builder_end_array(b);
}

static void add_value(JsonBuilder *b, GVariant *v, const char *const *fields)
{
        switch (g_variant_classify(v)) {
        case G_VARIANT_CLASS_BOOLEAN:
                json_builder_add_boolean_value(b, g_variant_get_boolean(v));
                break;
        case G_VARIANT_CLASS_BYTE:
                json_builder_add_int_value(b, g_variant_get_byte(v));
                break;
        case G_VARIANT_CLASS_INT16:
                json_builder_add_int_value(b, g_variant_get_int16(v));
                break;
        case G_VARIANT_CLASS_UINT16:
                json_builder_add_int_value(b, g_variant_get_uint16(v));
                break;
        case G_VARIANT_CLASS_INT32:
                json_builder_add_int_value(b, g_variant_get_int32(v));
                break;
        case G_VARIANT_CLASS_UINT32:
                json_builder_add_int_value(b, g_variant_get_uint32(v));
                break;
        case G_VARIANT_CLASS_INT64:
                json_builder_add_int_value(b, g_variant_get_int64(v));
                break;
        case G_VARIANT_CLASS_HANDLE:
                json_builder_add_int_value(b, g_variant_get_handle(v));
                break;
        case G_VARIANT_CLASS_UINT64: {
                guint64 u = g_variant_get_uint64(v);

                /* JSON numbers here are int64; beyond that only a double can hold it. */
                if (u > G_MAXINT64)
                        json_builder_add_double_value(b, (gdouble) u);
                else
                        json_builder_add_int_value(b, (gint64) u);
                break;
        }
        case G_VARIANT_CLASS_DOUBLE:
                json_builder_add_double_value(b, g_variant_get_double(v));
                break;
        case G_VARIANT_CLASS_STRING:
        case G_VARIANT_CLASS_OBJECT_PATH:
        case G_VARIANT_CLASS_SIGNATURE:
                json_builder_add_string_value(b, g_variant_get_string(v, NULL));
                break;
        case G_VARIANT_CLASS_VARIANT: {
                g_autoptr(GVariant) inner = g_variant_get_variant(v);

                add_value(b, inner, fields);
                break;
        }
        case G_VARIANT_CLASS_MAYBE: {
                g_autoptr(GVariant) inner = g_variant_get_maybe(v);

                if (inner)
                        add_value(b, inner, fields);
                else
                        json_builder_add_null_value(b);
                break;
        }
        case G_VARIANT_CLASS_ARRAY:
                if (g_variant_type_is_dict_entry(g_variant_type_element(g_variant_get_type(v))))
                        add_dict(b, v);
                else
                        add_children(b, v, fields);
                break;
        case G_VARIANT_CLASS_TUPLE:
        case G_VARIANT_CLASS_DICT_ENTRY:
                add_children(b, v, fields);
                break;
        }
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

static NvExitCode print_object(JsonBuilder *b, NvJsonMode mode)
{
        g_autoptr(JsonNode) root = json_builder_get_root(b);

        return nv_json_print_node(root, mode);
}

JsonNode *nv_json_property_node(const char *name, GVariant *value)
{
        g_autoptr(JsonBuilder) b = json_builder_new();
        g_autoptr(JsonNode) root = NULL;

        /* A builder's root must be a container; the value is its only element. */
        json_builder_begin_array(b);
        add_value(b, value, fields_for(name));
        json_builder_end_array(b);
        root = json_builder_get_root(b);
        return json_array_dup_element(json_node_get_array(root), 0);
}

NvExitCode nv_json_print_properties(GVariant *props, NvJsonMode mode)
{
        g_autoptr(JsonBuilder) b = json_builder_new();
        GVariantIter iter;
        const char *name;
        GVariant *value;

        json_builder_begin_object(b);
        g_variant_iter_init(&iter, props);
        while (g_variant_iter_loop(&iter, "{&sv}", &name, &value)) {
                json_builder_set_member_name(b, name);
                add_value(b, value, fields_for(name));
        }
        json_builder_end_object(b);

        return print_object(b, mode);
}

NvExitCode nv_json_print_reply(GVariant *reply, const char *const *names, NvJsonMode mode)
{
        g_autoptr(JsonBuilder) b = json_builder_new();
        gsize n = g_variant_n_children(reply);

        g_return_val_if_fail(g_strv_length((char **) names) == n, NV_EXIT_FAILURE);

        json_builder_begin_object(b);
        for (gsize i = 0; i < n; i++) {
                g_autoptr(GVariant) child = g_variant_get_child_value(reply, i);

                json_builder_set_member_name(b, names[i]);
                add_value(b, child, fields_for(names[i]));
        }
        json_builder_end_object(b);

        return print_object(b, mode);
}

/*
 * "vms": ListVMs as one object, with the member names of the contract's documentation:
 *
 *   {
 *     "vms": [ { "pid": number, "uid": number, "command": string, "name": string,
 *                "manager": string, "vm_id": string, "nesting": string, "cpu": string }, ... ],
 *     "uninspected": number
 *   }
 *
 * Empty strings stay empty strings (the bus has no null), so the JSON equals the reply.
 */
NvExitCode nv_json_print_vms(GVariant *reply, NvJsonMode mode)
{
        static const char *const fields[] = { "pid", "uid", "command", "name", "manager", "vm_id", "nesting",
                "cpu", NULL };
        g_autoptr(JsonBuilder) b = json_builder_new();
        g_autoptr(GVariant) vms = g_variant_get_child_value(reply, 0);
        g_autoptr(GVariant) uninspected = g_variant_get_child_value(reply, 1);

        json_builder_begin_object(b);
        json_builder_set_member_name(b, "vms");
        add_value(b, vms, fields);
        json_builder_set_member_name(b, "uninspected");
        add_value(b, uninspected, NULL);
        json_builder_end_object(b);

        return print_object(b, mode);
}

/*
 * "check": Check as an array, one object per finding, in the daemon's order:
 *
 *   [ { "id": string, "level": "info" | "warning" | "error", "summary": string, "hint": string }, ... ]
 */
NvExitCode nv_json_print_findings(GVariant *reply, NvJsonMode mode)
{
        static const char *const fields[] = { "id", "level", "summary", "hint", NULL };
        g_autoptr(JsonBuilder) b = json_builder_new();
        g_autoptr(GVariant) findings = g_variant_get_child_value(reply, 0);

        add_value(b, findings, fields);
        return print_object(b, mode);
}
