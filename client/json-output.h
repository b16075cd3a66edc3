/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "ctl.h"
#include "exit-codes.h"

/* Prints the a{sv} of GetAll as one JSON object on stdout; see json-output.c for the schema. */
NvExitCode nv_json_print_properties(GVariant *props, NvJsonMode mode);
