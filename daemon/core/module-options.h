/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Module option strings as libkmod hands them over ("a=1 nested=0 b"), split the way the
 * kernel's next_arg() splits them: whitespace separates, double quotes group. Parameter names
 * match with '-' and '_' equal, as in the kernel.
 */

/* Finds the last "nested" parameter. Returns 1 and sets *ret_value (NULL for a bare "nested")
 * when found, 0 when not, negative errno on error. */
int nv_options_find_nested(const char *options, char **ret_value);

/* Returns a copy of options without any "nested" parameter. */
int nv_options_strip_nested(const char *options, char **ret);
