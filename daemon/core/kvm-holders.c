/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>

#include "kvm-holders.h"
#include "util.h"
#include "vm-discovery.h"

/* One walk of /proc/PID/fd for the whole daemon: the VM scan's. */
int nv_kvm_holders(char ***ret)
{
        _cleanup_(nv_vm_list_done) NvVmList vms = {};
        _cleanup_strv_free_ char **l = NULL;
        int r;

        assert(ret);

        r = nv_vm_list_scan(&vms);
        if (r < 0)
                return r;

        for (size_t i = 0; i < vms.n_vms; i++) {
                _cleanup_free_ char *entry = NULL;

                if (asprintf(&entry, "%d (%s)", (int) vms.vms[i].pid, vms.vms[i].comm ?: "?") < 0)
                        return -ENOMEM;
                r = strv_extend(&l, entry);
                if (r < 0)
                        return r;
        }

        if (strv_ensure(&l) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}
