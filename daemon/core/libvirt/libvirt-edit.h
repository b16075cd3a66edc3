/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Changes a domain XML so that its next start exposes or hides the vendor's vmx/svm, touching
 * only <cpu> (its vendor <feature>, and for host_model its mode, <model> and <vendor>); the rest
 * of the document is written back as libxml2 read it.
 *
 * expose: nothing when the CPU already exposes it (by nv_libvirt_cpu_nesting()). Otherwise every
 * <feature> of the vendor's name is removed (libvirt refuses two of one name), and for a custom
 * CPU one <feature policy='require'> is added; host-passthrough, maximum and host-model expose it
 * once the disabling feature is gone, so that hiding and exposing again gives back the CPU they
 * started with. A domain without <cpu> gets the one libvirt itself
 * stores for it (mode custom, model qemu64, or qemu32 for i686) plus the feature: libvirt refuses
 * a <cpu> whose only content is features. A custom <cpu> without a model gets that model too.
 * host_model: mode='host-passthrough' instead, without <model>, <vendor> or match=, and without
 * the vendor's feature; nothing when it already is host-passthrough and exposes it.
 *
 * hide: nothing when the CPU already hides it. Otherwise the vendor's <feature>s are removed, and a
 * host-passthrough, maximum or host-model CPU gets <feature policy='disable'>.
 *
 * A second <feature> of the vendor's name (hand-written XML, which libvirt refuses) always makes
 * the edit rewrite the features. The other vendor's feature is kept: it does nothing on this host.
 */

#include <stdbool.h>
#include <stddef.h>

#include "cpu-info.h"

/* Returns 1 and the new document in *ret (free()) when it changed, 0 and NULL when nothing needs
 * to change; -EBADMSG for a document that is not a domain, -EOPNOTSUPP for a guest that is not
 * x86, an unknown vendor or a CPU mode this code does not know, -ENOMEM. */
int nv_libvirt_edit_exposure(
        const char *xml, size_t size, NvVendor vendor, bool expose, bool host_model, char **ret);
