/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* /proc/cpuinfo: under a hypervisor its vendor_id and flags are what the hypervisor chose. */
#include "cpu-info.h"
#include "fuzz-util.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *text = NULL;
        NvCpuInfo info;
        int r;

        if (size > FUZZ_MAX_INPUT)
                return 0;
        text = fuzz_strndup(data, size);

        r = nv_cpu_info_parse(text, &info);
        fuzz_assert(r == 0 || r == -ENOMEM);
        if (r < 0)
                return 0;

        fuzz_assert(info.vendor == nv_vendor_from_id(info.vendor_id));
        fuzz_assert(!info.vendor_id || strlen(info.vendor_id) < size);
        if (nv_cpu_info_hardware_support(&info))
                fuzz_assert(info.vendor == NV_VENDOR_INTEL ? info.vmx : info.svm);
        fuzz_assert(strlen(nv_vendor_to_string(info.vendor)) > 0);
        nv_cpu_info_done(&info);
        fuzz_assert(!info.vendor_id);
        return 0;
}
