/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "vm-config.h"
#include "util.h"

static const char *const nv_vm_source_table[] = {
        [NV_VM_SOURCE_NONE] = "none",
        [NV_VM_SOURCE_HOST_MODEL] = "host-model",
        [NV_VM_SOURCE_FLAG] = "flag",
        [NV_VM_SOURCE_CUSTOM_MODEL] = "custom-model",
        [NV_VM_SOURCE_RAW_ARGS] = "raw-args",
        [NV_VM_SOURCE_COMMAND_LINE] = "command-line",
        [NV_VM_SOURCE_NOT_X86] = "not-x86",
};
NV_DEFINE_STRING_TABLE(nv_vm_source, NvVmSource)

void nv_vm_config_done(NvVmConfig *c)
{
        if (!c)
                return;
        free(c->id);
        free(c->name);
        free(c->cpu);
        free(c->cpu_now);
        free(c->lock);
        *c = (NvVmConfig){};
}

void nv_expose_result_done(NvExposeResult *r)
{
        if (!r)
                return;
        free(r->message);
        free(r->cpu);
        *r = (NvExposeResult){};
}
