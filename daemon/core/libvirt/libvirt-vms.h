/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * libvirt's domains, read and changed through libvirt's C API on a connection the caller owns
 * (the daemon keeps one open to receive domain events). Never touches libvirt's files.
 */

#include <libvirt/libvirt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu-info.h"
#include "vm-config.h"

/* The URI: NESTVIRT_LIBVIRT_URI (tests) or "qemu:///system". */
const char *nv_libvirt_uri(void);

/* Every domain, running or not, sorted by name. */
int nv_libvirt_read_vms(virConnectPtr conn, NvVendor vendor, NvVmConfig **ret, size_t *ret_n);
/* One domain by UUID; -ENOENT when it is gone. */
int nv_libvirt_read_vm(virConnectPtr conn, NvVendor vendor, const char *uuid, NvVmConfig *ret);

/*
 * Exposes or hides vmx/svm at the next start: the inactive XML (INACTIVE|SECURE), any vmx/svm
 * <feature> replaced by one policy='require' feature for vendor's extension (or removed; a
 * host-passthrough CPU gets policy='disable' to hide it), defined with virDomainDefineXMLFlags
 * (VALIDATE). flags: NV_EXPOSE_HOST_MODEL switches <cpu> to mode='host-passthrough' instead.
 */
int nv_libvirt_set_exposure(virConnectPtr conn, NvVendor vendor, const char *uuid, bool expose,
        uint64_t flags, NvExposeResult *ret);

/* Whether libvirt's domain capabilities offer vendor's extension in the host-model CPU now: 1
 * yes, 0 no, < 0 when it cannot tell. Used after a live host change. */
int nv_libvirt_host_model_offers(virConnectPtr conn, NvVendor vendor);
