/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "text.h"

char *nv_text_printable(const char *s)
{
        g_autofree char *valid = g_utf8_make_valid(s ? s : "", -1);
        GString *out = g_string_sized_new(strlen(valid));

        for (const char *p = valid; *p; p = g_utf8_next_char(p)) {
                gunichar c = g_utf8_get_char(p);

                if (c < 0x80 && g_unichar_iscntrl(c))
                        g_string_append_printf(out, "\\x%02x", (unsigned) c);
                else if (g_unichar_iscntrl(c))
                        g_string_append_printf(out, "\\u%04x", (unsigned) c);
                else
                        g_string_append_len(out, p, g_utf8_next_char(p) - p);
        }
        return g_string_free(out, FALSE);
}

int nv_text_width(const char *s)
{
        int width = 0;

        for (const char *p = s; p && *p; p = g_utf8_next_char(p)) {
                gunichar c = g_utf8_get_char(p);

                if (g_unichar_iszerowidth(c))
                        continue;
                width += g_unichar_iswide(c) ? 2 : 1;
        }
        return width;
}

void nv_text_print_wrapped(
        FILE *f, const char *prefix, int prefix_width, int indent, const char *text, int width)
{
        g_auto(GStrv) words = g_strsplit(text, " ", -1);
        gboolean line_empty = TRUE; /* no word on this line yet (the prefix does not count) */
        int col = prefix_width;

        fputs(prefix, f);
        for (char **w = words; *w; w++) {
                int len = nv_text_width(*w);

                if (!**w)
                        continue; /* a run of spaces */
                if (!line_empty && width > 0 && col + 1 + len > width) {
                        fprintf(f, "\n%*s", indent, "");
                        col = indent;
                        line_empty = TRUE;
                }
                if (!line_empty) {
                        fputc(' ', f);
                        col++;
                }
                fputs(*w, f);
                col += len;
                line_empty = FALSE;
        }
        fputc('\n', f);
}

int nv_terminal_columns(void)
{
        struct winsize ws = { 0 };
        const char *e;

        if (!isatty(STDOUT_FILENO))
                return 0;
        /* $COLUMNS wins, as in systemd, so a person can ask for a width. */
        e = getenv("COLUMNS");
        if (e && atoi(e) > 0)
                return atoi(e);
        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
                return ws.ws_col;
        return 80;
}
