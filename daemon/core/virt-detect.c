/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "virt-detect.h"
#include "host-path.h"
#include "util.h"

typedef struct DmiMatch {
        const char *text;
        bool prefix; /* "VMware, Inc." starts with "VMware" */
        bool need_cpu; /* names the platform, but bare-metal machines report it too */
        const char *id;
} DmiMatch;

/*
 * DMI strings that name a hypervisor, with systemd-detect-virt's ids. Strings that physical
 * machines show too are left out: "Microsoft Corporation" (Surface laptops) and "Oracle
 * Corporation" (Oracle's servers) count only with a product name (dmi_pairs); plain "Google"
 * (Chromebooks) not at all, as GCE's product name says "Google Compute Engine". EC2 .metal
 * instances say "Amazon EC2" too, so that one needs the CPU's hypervisor flag.
 */
static const DmiMatch dmi_table[] = {
        { "KVM", false, false, "kvm" },
        { "OpenStack", true, false, "kvm" },
        { "KubeVirt", true, false, "kvm" },
        { "QEMU", true, false, "qemu" },
        { "VMware", true, false, "vmware" },
        { "VMW", true, false, "vmware" },
        { "innotek GmbH", false, false, "oracle" },
        { "VirtualBox", false, false, "oracle" },
        { "Xen", true, false, "xen" },
        { "Bochs", true, false, "bochs" },
        { "Parallels", true, false, "parallels" },
        { "BHYVE", true, false, "bhyve" },
        { "Amazon EC2", false, true, "amazon" },
        { "Google Compute Engine", false, false, "google" },
        { "Apple Virtualization", true, false, "apple" },
};

/* A vendor that is a hypervisor only together with this product name. */
static const struct {
        const char *vendor;
        const char *product;
        const char *id;
} dmi_pairs[] = {
        { "Microsoft Corporation", "Virtual Machine", "microsoft" },
        { "Oracle Corporation", "VirtualBox", "oracle" },
};

/* The fields systemd-detect-virt reads, in the order we trust them. */
enum {
        DMI_SYS_VENDOR,
        DMI_PRODUCT_NAME,
        DMI_BOARD_VENDOR,
        DMI_BIOS_VENDOR,
        _DMI_MAX,
};
_Static_assert(_DMI_MAX == NV_DMI_FIELDS, "nv_virt_decide() documents the fields");

static const char *const dmi_files[_DMI_MAX] = {
        [DMI_SYS_VENDOR] = "/sys/class/dmi/id/sys_vendor",
        [DMI_PRODUCT_NAME] = "/sys/class/dmi/id/product_name",
        [DMI_BOARD_VENDOR] = "/sys/class/dmi/id/board_vendor",
        [DMI_BIOS_VENDOR] = "/sys/class/dmi/id/bios_vendor",
};

static const DmiMatch *dmi_lookup(const char *s)
{
        if (isempty(s))
                return NULL;

        for (size_t i = 0; i < ELEMENTSOF(dmi_table); i++) {
                const DmiMatch *m = dmi_table + i;
                if (m->prefix ? !!startswith(s, m->text) : streq(s, m->text))
                        return m;
        }
        return NULL;
}

const char *nv_virt_from_dmi(const char *s)
{
        const DmiMatch *m = dmi_lookup(s);
        return m ? m->id : NULL;
}

/* Reads a DMI field; a missing or unreadable file is simply no information. */
static int read_dmi(const char *host_path, char **ret)
{
        int r = nv_host_read_line(host_path, ret);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                *ret = NULL;
        return 0;
}

/* The hypervisor id DMI names, or NULL. cpu_flag: the CPU says it runs under a hypervisor. */
static const char *detect_dmi(const char *const dmi[_DMI_MAX], bool cpu_flag)
{
        const char *found = NULL;

        for (size_t i = 0; i < ELEMENTSOF(dmi_pairs); i++)
                if (streq_ptr(dmi[DMI_SYS_VENDOR], dmi_pairs[i].vendor) &&
                        streq_ptr(dmi[DMI_PRODUCT_NAME], dmi_pairs[i].product))
                        return dmi_pairs[i].id;

        /* First match wins, in the order of the fields. */
        for (size_t i = 0; i < _DMI_MAX && !found; i++) {
                const DmiMatch *m = dmi_lookup(dmi[i]);
                if (m && (!m->need_cpu || cpu_flag))
                        found = m->id;
        }

        /*
         * QEMU's default SMBIOS says "QEMU" whether it runs with KVM or with TCG, so "qemu" alone
         * does not tell them apart. When another field says "KVM" (product_name "KVM" on older
         * machine types, or a management layer's SMBIOS), the accelerator is KVM: report "kvm".
         * Otherwise stay with "qemu", as we have no CPUID signature to consult in a file tree.
         */
        if (found && streq(found, "qemu"))
                for (size_t i = 0; i < _DMI_MAX; i++)
                        if (streq_ptr(nv_virt_from_dmi(dmi[i]), "kvm"))
                                return "kvm";

        return found;
}

int nv_virt_decide(const char *const dmi[NV_DMI_FIELDS], const char *hypervisor_type,
        bool cpu_hypervisor_flag, NvVirt *ret)
{
        const char *id;

        id = detect_dmi(dmi, cpu_hypervisor_flag);
        /* /sys/hypervisor/type is Xen's ("xen"); DMI is more specific (Amazon on Xen), so it
         * comes first. */
        if (!id && !isempty(hypervisor_type))
                id = streq(hypervisor_type, "xen") ? "xen" : "unknown";
        if (!id && cpu_hypervisor_flag)
                id = "unknown";

        *ret = (NvVirt){};
        if (id) {
                ret->hypervisor = strdup(id);
                if (!ret->hypervisor)
                        return -ENOMEM;
                ret->guest = true;
        }
        return 0;
}

int nv_virt_detect(bool cpu_hypervisor_flag, NvVirt *ret)
{
        _cleanup_free_ char *xen_type = NULL;
        char *dmi[_DMI_MAX] = {};
        int r;

        for (size_t i = 0; i < _DMI_MAX; i++) {
                r = read_dmi(dmi_files[i], dmi + i);
                if (r < 0)
                        goto finish;
        }

        r = read_dmi("/sys/hypervisor/type", &xen_type);
        if (r < 0)
                goto finish;

        r = nv_virt_decide((const char *const *) dmi, xen_type, cpu_hypervisor_flag, ret);

finish:
        for (size_t i = 0; i < _DMI_MAX; i++)
                free(dmi[i]);
        return r;
}

void nv_virt_done(NvVirt *v)
{
        if (!v)
                return;
        free(v->hypervisor);
        *v = (NvVirt){};
}
