/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "findings.h"
#include "findings-checks.h"
#include "util.h"

/*
 * Each check looks at one thing and adds at most one finding; the checks run in a fixed order, so
 * the list is stable for a given host. Every id appears at most once: where several files or VMs
 * are involved, one finding names them all.
 */

static const char *const nv_level_table[] = {
        [NV_LEVEL_INFO] = "info",
        [NV_LEVEL_WARNING] = "warning",
        [NV_LEVEL_ERROR] = "error",
};

NV_DEFINE_STRING_TABLE_FALLBACK(nv_level, NvLevel, NV_LEVEL_INFO)

void nv_findings_done(NvFindings *f)
{
        if (!f)
                return;
        for (size_t i = 0; i < f->n; i++) {
                free(f->items[i].summary);
                free(f->items[i].hint);
        }
        free(f->items);
        *f = (NvFindings){};
}

/* The order of the list: what blocks KVM (or, on a VM, that nesting works), then the module, its
 * configuration, the files around it, and last the VMs. */
static int (*const checks[])(const NvHost *h, const NvVmList *vms, NvFindings *f) = {
        check_hardware,
        check_nested_guest,
        check_modules_disabled,
        check_module_state,
        check_builtin_ignores_files,
        check_invalid_option,
        check_conflicting_settings,
        check_overridden_by_cmdline,
        check_live_differs,
        check_ignored_files,
        check_initramfs,
        check_slow_nested,
        check_vms_cannot_start,
        check_vms_require_nesting,
        check_nested_disabled_vms,
        check_vms_expose_nesting,
};

int nv_findings_check(const NvHost *h, const NvVmList *vms, NvFindings *ret)
{
        NvFindings f = {};
        int r = 0;

        if (!h || !ret)
                return -EINVAL;

        for (size_t i = 0; i < ELEMENTSOF(checks) && r >= 0; i++)
                r = checks[i](h, vms, &f);
        if (r < 0) {
                nv_findings_done(&f);
                return r;
        }

        *ret = f;
        return 0;
}
