/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The processes that hold the KVM device or a VM, found through the fd links in /proc. Each
 * open /dev/kvm and each VM fd pins the vendor module.
 */

/* Returns "PID (COMM)" strings, sorted by pid; an empty list when none. */
int nv_kvm_holders(char ***ret);
