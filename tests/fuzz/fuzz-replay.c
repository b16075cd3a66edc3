/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A main() for the harnesses outside libFuzzer: runs LLVMFuzzerTestOneInput() once on every file
 * named, or on every file in a directory named, in name order. The normal build uses it to re-run
 * the seed corpora and the regression inputs with any compiler.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "fuzz-util.h"
#include "host-path.h"
#include "util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int run_file(const char *path)
{
        _cleanup_free_ char *data = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        size_t size = 0, allocated = 0;

        f = fopen(path, "re");
        if (!f) {
                fprintf(stderr, "%s: %m\n", path);
                return -errno;
        }
        for (;;) {
                if (allocated - size < 4096) {
                        char *m = realloc(data, allocated + 65536);
                        if (!m)
                                return -ENOMEM;
                        data = m;
                        allocated += 65536;
                }
                size_t k = fread(data + size, 1, allocated - size, f);
                size += k;
                if (k == 0) {
                        if (ferror(f))
                                return -EIO;
                        break;
                }
        }
        fprintf(stderr, "%s (%zu bytes)\n", path, size);
        (void) LLVMFuzzerTestOneInput((const uint8_t *) data, size);
        return 0;
}

static int cmp_names(const struct dirent **a, const struct dirent **b)
{
        return strcmp((*a)->d_name, (*b)->d_name);
}

static int run_path(const char *path, size_t *n)
{
        struct dirent **names = NULL;
        struct stat st;
        int k, r = 0;

        if (stat(path, &st) < 0) {
                fprintf(stderr, "%s: %m\n", path);
                return -errno;
        }
        if (!S_ISDIR(st.st_mode)) {
                (*n)++;
                return run_file(path);
        }

        k = scandir(path, &names, NULL, cmp_names);
        if (k < 0)
                return -errno;
        for (int i = 0; i < k; i++) {
                _cleanup_free_ char *p = NULL;

                if (r >= 0 && names[i]->d_name[0] != '.') {
                        if (asprintf(&p, "%s/%s", path, names[i]->d_name) < 0)
                                r = -ENOMEM;
                        else
                                r = run_path(p, n);
                }
                free(names[i]);
        }
        free(names);
        return r;
}

int main(int argc, char **argv)
{
        size_t n = 0;

        if (LLVMFuzzerInitialize)
                (void) LLVMFuzzerInitialize(&argc, &argv);
        for (int i = 1; i < argc; i++)
                if (run_path(argv[i], &n) < 0)
                        return EXIT_FAILURE;
        fprintf(stderr, "%zu inputs passed\n", n);
        return n > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
