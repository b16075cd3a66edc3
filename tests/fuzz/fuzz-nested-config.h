/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by fuzz-kernel-cmdline and fuzz-modprobe-conf: runs nv_nested_config_read() on the
 * fixture root for both vendor modules and checks what must hold whatever the text says. */

#include <stdbool.h>

#include "nested-config.h"

void fuzz_check_config(const NvNestedConfig *c, bool builtin);
