/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "dl-util.h"

static char last_error[256] = "";

int dlopen_many(void **dlp, const char *filename, int flags, ...)
{
        void *dl;
        va_list ap;
        int r = 0;

        assert(dlp);
        assert(filename);

        if (*dlp)
                return 0;

        /* NODELETE: the pointers stay valid whatever happens to the handle. */
        dl = dlopen(filename,
                RTLD_NOW | RTLD_NODELETE | (flags & NV_DLOPEN_INTERPOSABLE ? RTLD_GLOBAL : RTLD_LOCAL));
        if (!dl) {
                snprintf(last_error, sizeof(last_error), "%s", dlerror());
                return -EOPNOTSUPP;
        }

        va_start(ap, flags);
        for (;;) {
                void **sym = va_arg(ap, void **);
                const char *name;
                void *p;

                if (!sym)
                        break;
                name = va_arg(ap, const char *);
                (void) dlerror();
                /* The library must have it; an interposer, if any, is what the program would call. */
                p = dlsym(dl, name);
                if (p && (flags & NV_DLOPEN_INTERPOSABLE))
                        p = dlsym(RTLD_DEFAULT, name) ?: p;
                if (!p) {
                        const char *e = dlerror();

                        snprintf(last_error, sizeof(last_error), "%s", e ? e : name);
                        r = -ENXIO;
                        break;
                }
                *sym = p;
        }
        va_end(ap);

        if (r < 0) {
                /* Back to none: the pointers filled before the missing one are reset. */
                va_start(ap, flags);
                for (void **sym; (sym = va_arg(ap, void **));) {
                        (void) va_arg(ap, const char *);
                        *sym = NULL;
                }
                va_end(ap);
                (void) dlclose(dl);
                return r;
        }

        *dlp = dl;
        return 0;
}

const char *dlopen_error(void)
{
        return last_error;
}
