/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdarg.h>
#include <string.h>

#include "table.h"
#include "text.h"

/* Room left of the longest label, like hostnamectl, so the block stands out from a prompt. */
#define LABEL_INDENT 2

typedef struct {
        char *label;
        char *value;
        const char *color;
} Row;

struct NvTable {
        GArray *rows; /* of Row */
        gboolean color;
};

static void row_clear(gpointer p)
{
        Row *row = p;

        g_free(row->label);
        g_free(row->value);
}

NvTable *nv_table_new(gboolean color)
{
        NvTable *table = g_new0(NvTable, 1);

        table->rows = g_array_new(FALSE, TRUE, sizeof(Row));
        g_array_set_clear_func(table->rows, row_clear);
        table->color = color;
        return table;
}

void nv_table_free(NvTable *table)
{
        if (!table)
                return;

        g_array_unref(table->rows);
        g_free(table);
}

void nv_table_add(NvTable *table, const char *label, const char *color, const char *format, ...)
{
        g_autofree char *value = NULL;
        Row row = { 0 };
        va_list ap;

        va_start(ap, format);
        value = g_strdup_vprintf(format, ap);
        va_end(ap);
        /* Values carry host data (file names, CPU strings): never let them steer the terminal. */
        row.value = nv_text_printable(value);
        row.label = g_strdup(label);
        row.color = table->color ? color : NULL;
        g_array_append_val(table->rows, row);
}

void nv_table_print(NvTable *table, FILE *f)
{
        int width = 0;

        for (guint i = 0; i < table->rows->len; i++) {
                const Row *row = &g_array_index(table->rows, Row, i);

                if (row->label)
                        width = MAX(width, (int) strlen(row->label)); /* labels are ASCII */
        }
        /* The colon belongs to the label column. */
        width += LABEL_INDENT + 1;

        for (guint i = 0; i < table->rows->len; i++) {
                const Row *row = &g_array_index(table->rows, Row, i);
                g_autofree char *label = row->label ? g_strconcat(row->label, ":", NULL) : g_strdup("");

                fprintf(f, "%*s %s%s%s\n", width, label, row->color ? row->color : "", row->value,
                        row->color ? NV_ANSI_NORMAL : "");
        }
}
