/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cpu-info.h"
#include "host-path.h"
#include "util.h"

static const struct {
        const char *id;
        NvVendor vendor;
} vendor_table[] = {
        { "GenuineIntel", NV_VENDOR_INTEL },
        /* VIA/Centaur and Zhaoxin implement VMX and use kvm_intel. Zhaoxin's id is "  Shanghai  "
         * with the spaces; the caller's string is trimmed before the lookup. */
        { "CentaurHauls", NV_VENDOR_INTEL },
        { "Shanghai", NV_VENDOR_INTEL },
        { "AuthenticAMD", NV_VENDOR_AMD },
        /* Hygon Dhyana is a licensed Zen: SVM and kvm_amd. */
        { "HygonGenuine", NV_VENDOR_AMD },
};

static const char *const nv_vendor_table[] = {
        [NV_VENDOR_UNKNOWN] = "unknown",
        [NV_VENDOR_INTEL] = "intel",
        [NV_VENDOR_AMD] = "amd",
};

NV_DEFINE_STRING_TABLE_FALLBACK(nv_vendor, NvVendor, NV_VENDOR_UNKNOWN)

static bool is_blank(char c)
{
        return c == ' ' || c == '\t';
}

NvVendor nv_vendor_from_id(const char *vendor_id)
{
        const char *s;
        size_t l;

        if (!vendor_id)
                return NV_VENDOR_UNKNOWN;

        s = vendor_id + strspn(vendor_id, " \t");
        l = strlen(s);
        while (l > 0 && (is_blank(s[l - 1]) || s[l - 1] == '\n'))
                l--;

        for (size_t i = 0; i < ELEMENTSOF(vendor_table); i++)
                if (strlen(vendor_table[i].id) == l && strncmp(vendor_table[i].id, s, l) == 0)
                        return vendor_table[i].vendor;
        return NV_VENDOR_UNKNOWN;
}

static bool flags_have(const char *flags, const char *flag)
{
        size_t fl = strlen(flag);

        /* Whole tokens only: "vmx" must not match "vmx_foo". */
        for (const char *p = flags;;) {
                p += strspn(p, " \t");
                if (!*p)
                        return false;
                size_t l = strcspn(p, " \t");
                if (l == fl && strncmp(p, flag, l) == 0)
                        return true;
                p += l;
        }
}

/* Splits "key<blanks>: value" in place. Returns false for a line without a colon. */
static bool split_line(char *line, char **ret_key, char **ret_value)
{
        char *colon = strchr(line, ':'), *k, *v;
        size_t l;

        if (!colon)
                return false;

        *colon = 0;
        k = line + strspn(line, " \t");
        l = strlen(k);
        while (l > 0 && is_blank(k[l - 1]))
                k[--l] = 0;

        v = colon + 1;
        v += strspn(v, " \t");
        strstrip_end(v);

        *ret_key = k;
        *ret_value = v;
        return true;
}

int nv_cpu_info_parse(const char *text, NvCpuInfo *ret)
{
        _cleanup_free_ char *copy = NULL, *vendor_id = NULL;
        NvCpuInfo info = {};
        bool seen_field = false, seen_flags = false;

        if (!text)
                return -EINVAL;

        copy = strdup(text);
        if (!copy)
                return -ENOMEM;

        for (char *p = copy; p;) {
                char *line = p, *nl = strchr(p, '\n'), *key, *value;

                if (nl) {
                        *nl = 0;
                        p = nl + 1;
                } else
                        p = NULL;

                /* A blank line ends the first processor's block; the other blocks repeat it. */
                if (line[strspn(line, " \t\r")] == 0) {
                        if (seen_field)
                                break;
                        continue;
                }

                if (!split_line(line, &key, &value))
                        continue;
                seen_field = true;

                if (streq(key, "vendor_id") && !vendor_id) {
                        vendor_id = strdup(value);
                        if (!vendor_id)
                                return -ENOMEM;
                } else if (streq(key, "flags") && !seen_flags) {
                        seen_flags = true;
                        info.vmx = flags_have(value, "vmx");
                        info.svm = flags_have(value, "svm");
                        info.hypervisor = flags_have(value, "hypervisor");
                }
        }

        info.vendor = nv_vendor_from_id(vendor_id);
        info.vendor_id = TAKE_PTR(vendor_id);
        *ret = info;
        return 0;
}

int nv_cpu_info_read(NvCpuInfo *ret)
{
        _cleanup_free_ char *text = NULL;
        int r;

        r = nv_host_read_file("/proc/cpuinfo", &text, NULL);
        if (r < 0)
                return r;

        return nv_cpu_info_parse(text, ret);
}

void nv_cpu_info_done(NvCpuInfo *info)
{
        if (!info)
                return;
        free(info->vendor_id);
        *info = (NvCpuInfo){};
}

bool nv_cpu_info_hardware_support(const NvCpuInfo *info)
{
        if (!info)
                return false;

        switch (info->vendor) {
        case NV_VENDOR_INTEL:
                return info->vmx;
        case NV_VENDOR_AMD:
                return info->svm;
        default:
                return false;
        }
}
