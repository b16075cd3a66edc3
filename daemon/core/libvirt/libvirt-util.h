/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Scoped cleanup for libvirt's objects, and libvirt's last error as an errno. */

#include <errno.h>

#include "libvirt-dl.h"
#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(virConnectPtr, sym_virConnectClose)
DEFINE_TRIVIAL_CLEANUP_FUNC(virDomainPtr, sym_virDomainFree)

/* -ENOENT when the last error says the domain does not exist (or its UUID cannot name one), else
 * -EIO. */
static inline int nv_libvirt_errno(void)
{
        const virError *e = sym_virGetLastError();

        if (e && (e->code == VIR_ERR_NO_DOMAIN || e->code == VIR_ERR_INVALID_ARG))
                return -ENOENT;
        return -EIO;
}

/* libvirt's message for the last error on this thread, never NULL. */
static inline const char *nv_libvirt_message(void)
{
        return sym_virGetLastErrorMessage();
}
