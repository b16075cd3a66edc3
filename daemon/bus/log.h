/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* stderr with syslog level prefixes: the journal turns them into priorities. */

#include <stdio.h>
#include <string.h>

#define log_full(level, ...)                    \
        ({                                      \
                fprintf(stderr, "<%d>", level); \
                fprintf(stderr, __VA_ARGS__);   \
                fputc('\n', stderr);            \
        })
#define log_error(...)   log_full(3, __VA_ARGS__)
#define log_warning(...) log_full(4, __VA_ARGS__)
#define log_notice(...)  log_full(5, __VA_ARGS__)
#define log_info(...)    log_full(6, __VA_ARGS__)

/* Logs and returns r (a negative errno), for "return log_error_errno(r, ...)". */
#define log_error_errno(r, fmt, ...)                                 \
        ({                                                           \
                int _r = (r);                                        \
                log_error(fmt ": %s", ##__VA_ARGS__, strerror(-_r)); \
                _r;                                                  \
        })
