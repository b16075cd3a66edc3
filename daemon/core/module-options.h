/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/*
 * Module option strings as libkmod hands them over ("a=1 nested=0 b"), split the way the
 * kernel's parse_args() splits them: whitespace (the kernel's isspace()) separates, double quotes
 * group, a bare "--" ends them. Parameter names match with '-' and '_' equal, as in the kernel.
 */

/* Finds the last "nested" parameter. Returns 1 and sets *ret_value (NULL for a bare "nested")
 * when found, 0 when not, negative errno on error. */
int nv_options_find_nested(const char *options, char **ret_value);

/* Whether the kernel stops reading arguments within options: a bare "--", or a quote the last
 * parameter leaves open (it runs to the end of the string). libkmod joins every options entry of
 * a module into one string, so nothing after such an entry reaches the kernel. */
bool nv_options_end_arguments(const char *options);

/* Returns a copy of options without any "nested" parameter, such that appending " nested=N"
 * sets nested to N: without a "--" (or what follows it), and with a quote the last parameter
 * left open closed. */
int nv_options_strip_nested(const char *options, char **ret);
