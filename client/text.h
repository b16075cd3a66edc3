/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <stdio.h>

/* Strings from the daemon that come from the host (VM names, command names, file names) can hold
 * anything a local user chose, including terminal escape sequences. This returns valid UTF-8 with
 * every control character escaped ("\x1b"), fit to be printed. */
char *nv_text_printable(const char *s);

/* Columns the text takes on a terminal (wide characters count two). */
int nv_text_width(const char *s);

/* Prints text after prefix, broken at spaces so that no line is wider than width (when width is
 * 0, or a word is longer, a line is as long as it must be); every line after the first starts
 * with indent spaces. prefix may be wrapped in color, so its width is given as prefix_width. */
void nv_text_print_wrapped(
        FILE *f, const char *prefix, int prefix_width, int indent, const char *text, int width);

/* The width of the terminal on standard output, or 0 when it is not a terminal. */
int nv_terminal_columns(void);
