/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The document without its <cpu> (and the blank text before it), as libxml2 writes it: what an
 * edit of the CPU must leave as it was. Fails the test on a document that is not a domain. */
char *nv_test_without_cpu(const char *xml);
