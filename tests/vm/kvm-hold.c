/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * kvm-hold: stands in for a running VM in the QEMU test tier. Opens /dev/kvm, creates a VM and
 * one vCPU (each fd pins the vendor module), reports readiness and then waits until it is killed.
 *
 *   kvm-hold [READY_FILE]
 *
 * READY_FILE, when given, is written with the pid once the VM and vCPU exist, so a test script
 * can wait for it. Exit status 2 means the KVM step named on stderr failed.
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int fail(const char *what)
{
        fprintf(stderr, "kvm-hold: %s: %s\n", what, strerror(errno));
        return 2;
}

int main(int argc, char *argv[])
{
        const char *device = getenv("NESTVIRT_KVM_DEVICE");
        int kvm, vm, vcpu, version;

        if (!device || !*device)
                device = "/dev/kvm";

        kvm = open(device, O_RDWR | O_CLOEXEC);
        if (kvm < 0)
                return fail(device);

        version = ioctl(kvm, KVM_GET_API_VERSION, 0);
        if (version != KVM_API_VERSION) {
                fprintf(stderr, "kvm-hold: KVM_GET_API_VERSION returned %d, want %d\n", version,
                        KVM_API_VERSION);
                return 2;
        }

        vm = ioctl(kvm, KVM_CREATE_VM, 0UL);
        if (vm < 0)
                return fail("KVM_CREATE_VM");

        vcpu = ioctl(vm, KVM_CREATE_VCPU, 0UL);
        if (vcpu < 0)
                return fail("KVM_CREATE_VCPU");

        printf("kvm-hold: pid %d holds %s (kvm fd %d, vm fd %d, vcpu fd %d)\n", (int) getpid(), device, kvm,
                vm, vcpu);
        fflush(stdout);

        if (argc > 1) {
                FILE *f = fopen(argv[1], "we");
                if (!f)
                        return fail(argv[1]);
                fprintf(f, "%d\n", (int) getpid());
                if (fclose(f) != 0)
                        return fail(argv[1]);
        }

        /* SIGTERM's default action ends the process; the kernel then drops the references. */
        for (;;)
                pause();
}
