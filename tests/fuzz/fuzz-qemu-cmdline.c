/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /proc/PID/cmdline of a KVM holder: NUL-separated arguments that whoever started the process
 * chose. The input is the file as read, and goes through nv_vm_identify(): argv[0], -name,
 * -id, -cpu, -machine/-M and -pidfile, then the pid files those point to under a fixed root
 * that has Proxmox VE and libvirt pid files for pid 4242 (and one for another pid).
 */
#include <stdlib.h>

#include "fuzz-util.h"
#include "util.h"
#include "vm-discovery.h"

#define PID 4242

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        fuzz_write("/var/run/qemu-server/100.pid", "4242\n", 5);
        fuzz_write("/var/run/qemu-server/101.pid", "999\n", 4);
        fuzz_write("/run/libvirt/qemu/win11.pid", "4242\n", 5);
        fuzz_write("/var/run/libvirt/qemu/db.pid", "  4242", 6);
        fuzz_write("/run/libvirt/qemu/old-web.pid", "4999\n", 5);
        return 0;
}

static bool nonempty_or_null(const char *s)
{
        return !s || *s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        NvVm vm = { .pid = PID, .uid = (uid_t) -1 };
        _cleanup_free_ char *cpu_text = NULL;
        NvVmNesting n;
        int r;

        if (size > FUZZ_MAX_INPUT)
                return 0;

        /* Not NUL-terminated, as a truncated read may be. */
        r = nv_vm_identify((const char *) data, size, &vm);
        fuzz_assert(r == 0 || r == -ENOMEM);
        if (r == 0) {
                fuzz_assert(nonempty_or_null(vm.name));
                fuzz_assert(nonempty_or_null(vm.vm_id));
                fuzz_assert(nonempty_or_null(vm.cpu));
                fuzz_assert(vm.manager <= NV_VM_MANAGER_CLOUD_HYPERVISOR);
                fuzz_assert(vm.nesting <= NV_VM_NESTING_EXPOSED);
                /* The VM id stays only where a Proxmox VE pid file names the process. */
                fuzz_assert((vm.manager == NV_VM_MANAGER_PROXMOX) == !!vm.vm_id);
                if (vm.manager == NV_VM_MANAGER_PROXMOX)
                        fuzz_assert(streq(vm.vm_id, "100"));
                fuzz_assert(!vm.name || strlen(vm.name) < size);
                fuzz_assert(strlen(nv_vm_manager_to_string(vm.manager)) > 0);
                fuzz_assert(strlen(nv_vm_nesting_to_string(vm.nesting)) > 0);
                /* The nesting of a QEMU process is its -cpu value's, unless an old machine type
                 * makes it unknown. */
                if (vm.nesting != NV_VM_NESTING_UNKNOWN)
                        fuzz_assert(vm.nesting == nv_vm_cpu_nesting(vm.cpu));
        }
        free(vm.name);
        free(vm.vm_id);
        free(vm.cpu);
        free(vm.comm);

        /* The same bytes as a -cpu value on their own. */
        cpu_text = fuzz_strndup(data, size);
        n = nv_vm_cpu_nesting(cpu_text);
        fuzz_assert(n == NV_VM_NESTING_HIDDEN || n == NV_VM_NESTING_EXPOSED);
        return 0;
}
