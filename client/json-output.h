/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "ctl.h"
#include "exit-codes.h"
#include "nestvirt-client.h"

/* Prints the a{sv} of GetAll as one JSON object on stdout; see json-output.c for the schema. */
NvExitCode nv_json_print_properties(GVariant *props, NvJsonMode mode);

/* The replies of the change verbs as one object, members named after the properties they mirror:
 * {"Nested", "NestedNextLoad", "NestedNextLoadSource"}, {"NestedNextLoad", "NestedNextLoadSource"}
 * and {"Nested", "Changed"}. */
NvExitCode nv_json_print_set_nested(const NvSetNestedReply *r, NvJsonMode mode);
NvExitCode nv_json_print_reset(const NvResetReply *r, NvJsonMode mode);
NvExitCode nv_json_print_enforce(const char *nested, gboolean changed, NvJsonMode mode);

/* Prints the VM objects as {"vms": [...], "uninspected": N}; uninspected NULL leaves it out. */
NvExitCode nv_json_print_vm_objects(const NvVmObjectList *l, const guint32 *uninspected, NvJsonMode mode);

/* Prints one VM object: its path and every property. */
NvExitCode nv_json_print_vm_object(const NvVmObject *vm, NvJsonMode mode);

/* Prints SetExposure's reply; host, when not NULL, is SetNested's of --enable-host. */
NvExitCode nv_json_print_set_exposure(
        const NvSetExposureReply *r, const NvSetNestedReply *host, NvJsonMode mode);

/* Prints Check as an array of {"id", "level", "summary", "hint"}. */
NvExitCode nv_json_print_findings(const NvFindingList *l, NvJsonMode mode);

/* One property's value as "status --json" prints it (for monitor's lines). */
JsonNode *nv_json_property_node(const char *name, GVariant *value);

/* Prints root, and a newline, on stdout. */
NvExitCode nv_json_print_node(JsonNode *root, NvJsonMode mode);
