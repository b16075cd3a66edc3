/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <stdio.h>

#define NV_ANSI_RED    "\033[0;1;31m"
#define NV_ANSI_YELLOW "\033[0;1;33m"
#define NV_ANSI_NORMAL "\033[0m"

/* Vertical "Label: value" output with right-aligned labels, as hostnamectl prints it. Rows are
 * collected first because the label column's width depends on all of them. */
typedef struct NvTable NvTable;

NvTable *nv_table_new(gboolean color);
void nv_table_free(NvTable *table);

/* label NULL continues the previous field on a line of its own. color is one of NV_ANSI_* or
 * NULL, and is dropped when the table has no color. */
void nv_table_add(NvTable *table, const char *label, const char *color, const char *format, ...)
        G_GNUC_PRINTF(4, 5);

void nv_table_print(NvTable *table, FILE *f);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(NvTable, nv_table_free)
