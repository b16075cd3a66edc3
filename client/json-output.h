/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "ctl.h"
#include "exit-codes.h"

/* Prints the a{sv} of GetAll as one JSON object on stdout; see json-output.c for the schema. */
NvExitCode nv_json_print_properties(GVariant *props, NvJsonMode mode);

/* Prints a method reply (a tuple) as one JSON object on stdout, one member per out argument,
 * named by names (as many as the tuple has members). The change verbs name them after the
 * properties they mirror, e.g. {"Nested": "enabled", "Changed": true}. */
NvExitCode nv_json_print_reply(GVariant *reply, const char *const *names, NvJsonMode mode);

/* Prints the reply of ListVMs, (a(uussssss)u), as {"vms": [...], "uninspected": N}. */
NvExitCode nv_json_print_vms(GVariant *reply, NvJsonMode mode);

/* Prints the reply of Check, (a(ssss)), as an array of {"id", "level", "summary", "hint"}. */
NvExitCode nv_json_print_findings(GVariant *reply, NvJsonMode mode);

/* One property's value as "status --json" prints it (for monitor's lines). */
JsonNode *nv_json_property_node(const char *name, GVariant *value);

/* Prints root, and a newline, on stdout. */
NvExitCode nv_json_print_node(JsonNode *root, NvJsonMode mode);
