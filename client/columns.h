/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <stdio.h>

/* A table with a header row and aligned columns, as "systemctl list-units" prints it: every
 * column as wide as its widest cell, two spaces apart, the last one not padded. Cells are printed
 * as given; pass them through nv_text_printable() when they come from the host. */
typedef struct NvColumns NvColumns;

/* headers: the column titles, NULL-terminated; they fix the number of columns. */
NvColumns *nv_columns_new(const char *const *headers, gboolean color);
void nv_columns_free(NvColumns *t);

/* Adds a row of as many cells as there are columns; NULL or "" prints as "-". */
void nv_columns_add(NvColumns *t, const char *const *cells);

guint nv_columns_n_rows(const NvColumns *t);

void nv_columns_print(const NvColumns *t, FILE *f);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(NvColumns, nv_columns_free)
