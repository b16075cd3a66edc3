/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "columns.h"
#include "table.h"
#include "text.h"

#define ANSI_UNDERLINE "\033[0;4m"
#define EMPTY_CELL     "-"

struct NvColumns {
        guint n_columns;
        char **headers;
        GPtrArray *rows; /* of char** with n_columns cells */
        gboolean color;
};

NvColumns *nv_columns_new(const char *const *headers, gboolean color)
{
        NvColumns *t = g_new0(NvColumns, 1);

        t->headers = g_strdupv((char **) headers);
        t->n_columns = g_strv_length(t->headers);
        t->rows = g_ptr_array_new_with_free_func((GDestroyNotify) g_strfreev);
        t->color = color;
        return t;
}

void nv_columns_free(NvColumns *t)
{
        if (!t)
                return;
        g_strfreev(t->headers);
        g_ptr_array_unref(t->rows);
        g_free(t);
}

void nv_columns_add(NvColumns *t, const char *const *cells)
{
        char **row = g_new0(char *, t->n_columns + 1);

        for (guint i = 0; i < t->n_columns; i++)
                row[i] = g_strdup(cells[i] && *cells[i] ? cells[i] : EMPTY_CELL);
        g_ptr_array_add(t->rows, row);
}

guint nv_columns_n_rows(const NvColumns *t)
{
        return t->rows->len;
}

/* on/off wrap the row's text in color, without the newline. */
static void print_row(
        const NvColumns *t, FILE *f, char *const *cells, const int *widths, const char *on, const char *off)
{
        fputs(on, f);
        for (guint i = 0; i < t->n_columns; i++) {
                fputs(cells[i], f);
                if (i + 1 < t->n_columns)
                        fprintf(f, "%*s", widths[i] - nv_text_width(cells[i]) + 2, "");
        }
        fputs(off, f);
        fputc('\n', f);
}

void nv_columns_print(const NvColumns *t, FILE *f)
{
        g_autofree int *widths = g_new0(int, t->n_columns);

        for (guint i = 0; i < t->n_columns; i++)
                widths[i] = nv_text_width(t->headers[i]);
        for (guint r = 0; r < t->rows->len; r++) {
                char **row = t->rows->pdata[r];

                for (guint i = 0; i < t->n_columns; i++)
                        widths[i] = MAX(widths[i], nv_text_width(row[i]));
        }

        print_row(t, f, t->headers, widths, t->color ? ANSI_UNDERLINE : "", t->color ? NV_ANSI_NORMAL : "");
        for (guint r = 0; r < t->rows->len; r++)
                print_row(t, f, t->rows->pdata[r], widths, "", "");
}
