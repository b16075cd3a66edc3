/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* stderr with syslog level prefixes: the journal turns them into priorities. */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

/* The prefix is written first; errno is kept for a "%m" in the message. */
#define log_full(level, ...)                      \
        ({                                        \
                int _saved_errno = errno;         \
                fprintf(stderr, "<%d>", (level)); \
                errno = _saved_errno;             \
                fprintf(stderr, __VA_ARGS__);     \
                fputc('\n', stderr);              \
        })
#define log_error(...)   log_full(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_notice(...)  log_full(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)    log_full(LOG_INFO, __VA_ARGS__)

/* As in systemd: logs with errno set to -r, so that "%m" in the format names the error, and
 * returns r (a negative errno), for "return log_error_errno(r, "Failed to ...: %m")". */
#define log_full_errno(level, r, ...)           \
        ({                                      \
                int _r = (r);                   \
                errno = _r < 0 ? -_r : _r;      \
                log_full((level), __VA_ARGS__); \
                _r < 0 ? _r : -_r;              \
        })
#define log_error_errno(r, ...)   log_full_errno(LOG_ERR, r, __VA_ARGS__)
#define log_warning_errno(r, ...) log_full_errno(LOG_WARNING, r, __VA_ARGS__)
#define log_notice_errno(r, ...)  log_full_errno(LOG_NOTICE, r, __VA_ARGS__)
