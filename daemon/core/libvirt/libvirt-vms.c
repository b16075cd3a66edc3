/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>

#include "host-path.h"
#include "libvirt-caps.h"
#include "libvirt-cpu.h"
#include "libvirt-edit.h"
#include "libvirt-util.h"
#include "libvirt-vms.h"
#include "libvirt-xml.h"

const char *nv_libvirt_uri(void)
{
        const char *e = secure_getenv("NESTVIRT_LIBVIRT_URI");

        return isempty(e) ? "qemu:///system" : e;
}

/* A domain's XML, parsed; -ENOENT when the domain went away meanwhile. */
static int domain_xml(virDomainPtr dom, unsigned flags, NvLibvirtDomain *ret)
{
        _cleanup_free_ char *xml = sym_virDomainGetXMLDesc(dom, flags);

        if (!xml)
                return nv_libvirt_errno();
        return nv_libvirt_domain_parse(xml, strlen(xml), ret);
}

/* The pid libvirt's QEMU driver wrote for a running domain, or 0. */
static pid_t domain_pid(const char *name)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        char *end = NULL;
        long v;

        if (!name || strchr(name, '/'))
                return 0;
        if (asprintf(&path, "/run/libvirt/qemu/%s.pid", name) < 0)
                return 0;
        if (nv_host_read_file(path, &text, NULL) < 0)
                return 0;
        errno = 0;
        v = strtol(text, &end, 10);
        if (errno != 0 || end == text || v <= 0 || (pid_t) v != v)
                return 0;
        return (pid_t) v;
}

static int read_domain(virDomainPtr dom, NvVendor vendor, NvVmConfig *ret)
{
        _cleanup_(nv_libvirt_domain_done) NvLibvirtDomain d = {}, live = {};
        _cleanup_(nv_vm_config_done) NvVmConfig c = {};
        char uuid[VIR_UUID_STRING_BUFLEN];
        NvLibvirtNesting n;
        int active, r;

        if (sym_virDomainGetUUIDString(dom, uuid) < 0)
                return nv_libvirt_errno();
        r = domain_xml(dom, VIR_DOMAIN_XML_INACTIVE, &d);
        if (r < 0)
                return r;
        active = sym_virDomainIsActive(dom);
        if (active < 0)
                return nv_libvirt_errno();

        c.id = strdup(uuid);
        if (!c.id)
                return -ENOMEM;
        c.name = TAKE_PTR(d.name);
        c.x86 = nv_libvirt_arch_is_x86(d.arch);
        c.kvm = streq_ptr(d.type, "kvm");
        c.running = active > 0;
        r = nv_libvirt_cpu_text(&d.cpu, &c.cpu);
        if (r < 0)
                return r;

        n = nv_libvirt_cpu_nesting(&d.cpu, c.x86, c.kvm, vendor);
        c.next = n.next;
        c.next_by = n.by;
        c.requires = n.requires;

        if (c.running) {
                r = domain_xml(dom, 0, &live);
                if (r < 0)
                        return r;
                r = nv_libvirt_cpu_text(&live.cpu, &c.cpu_now);
                if (r < 0)
                        return r;
                if (streq_ptr(c.cpu_now, c.cpu)) {
                        free(c.cpu_now);
                        c.cpu_now = NULL;
                }
                c.pending_change = nv_libvirt_cpu_differs(&d.cpu, &live.cpu);
                c.pid = domain_pid(c.name);
        }

        *ret = c;
        c = (NvVmConfig){};
        return 0;
}

static int config_cmp(const void *a, const void *b)
{
        const NvVmConfig *x = a, *y = b;

        return strcmp(strempty(x->name), strempty(y->name)) ?: strcmp(x->id, y->id);
}

static void configs_free(NvVmConfig *c, size_t n)
{
        for (size_t i = 0; i < n; i++)
                nv_vm_config_done(&c[i]);
        free(c);
}

int nv_libvirt_read_vms(virConnectPtr conn, NvVendor vendor, NvVmConfig **ret, size_t *ret_n)
{
        virDomainPtr *doms = NULL;
        NvVmConfig *configs = NULL;
        size_t n = 0;
        int k, r = 0;

        assert(conn);
        assert(ret);
        assert(ret_n);

        k = sym_virConnectListAllDomains(conn, &doms, 0);
        if (k < 0)
                return nv_libvirt_errno();

        configs = calloc(k > 0 ? k : 1, sizeof(NvVmConfig));
        if (!configs)
                r = -ENOMEM;
        for (int i = 0; i < k; i++) {
                if (r >= 0) {
                        int q = read_domain(doms[i], vendor, &configs[n]);
                        if (q >= 0)
                                n++;
                        else if (q != -ENOENT) /* undefined since the listing: not an error */
                                r = q;
                }
                sym_virDomainFree(doms[i]);
        }
        free(doms);
        if (r < 0) {
                configs_free(configs, n);
                return r;
        }

        if (n > 0)
                qsort(configs, n, sizeof(NvVmConfig), config_cmp);
        *ret = configs;
        *ret_n = n;
        return 0;
}

int nv_libvirt_read_vm(virConnectPtr conn, NvVendor vendor, const char *uuid, NvVmConfig *ret)
{
        _cleanup_(sym_virDomainFreep) virDomainPtr dom = NULL;

        assert(conn);
        assert(uuid);
        assert(ret);

        dom = sym_virDomainLookupByUUIDString(conn, uuid);
        if (!dom)
                return nv_libvirt_errno();
        return read_domain(dom, vendor, ret);
}

static int result_fail(NvExposeResult *ret, NvExposeStatus status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int result_fail(NvExposeResult *ret, NvExposeStatus status, const char *fmt, ...)
{
        va_list ap;
        int k;

        *ret = (NvExposeResult){ .status = status };
        va_start(ap, fmt);
        k = vasprintf(&ret->message, fmt, ap);
        va_end(ap);
        if (k < 0) {
                ret->message = NULL;
                return -ENOMEM;
        }
        return 0;
}

/* The sentence for an edit that cannot be done, from the domain's own XML. */
static int not_supported(NvExposeResult *ret, const char *xml, NvVendor vendor)
{
        _cleanup_(nv_libvirt_domain_done) NvLibvirtDomain d = {};
        int r;

        r = nv_libvirt_domain_parse(xml, strlen(xml), &d);
        if (r < 0)
                return r;
        if (!nv_libvirt_arch_is_x86(d.arch))
                return result_fail(ret, NV_EXPOSE_NOT_SUPPORTED,
                        "Domain %s is a %s guest: vmx and svm concern x86 guests only.", strempty(d.name),
                        d.arch ?: "non-x86");
        if (!nv_libvirt_vendor_feature(vendor))
                return result_fail(ret, NV_EXPOSE_NOT_SUPPORTED,
                        "The host's CPU vendor is unknown: neither vmx nor svm can be chosen.");
        return result_fail(ret, NV_EXPOSE_NOT_SUPPORTED,
                "Domain %s has a CPU mode this version does not know; change its <cpu> with virsh edit.",
                strempty(d.name));
}

int nv_libvirt_set_exposure(virConnectPtr conn, NvVendor vendor, const char *uuid, bool expose,
        uint64_t flags, NvExposeResult *ret)
{
        _cleanup_(sym_virDomainFreep) virDomainPtr dom = NULL, defined = NULL;
        _cleanup_(nv_libvirt_domain_done) NvLibvirtDomain now = {};
        _cleanup_free_ char *xml = NULL, *changed = NULL, *cpu = NULL;
        int r;

        assert(conn);
        assert(uuid);
        assert(ret);

        *ret = (NvExposeResult){};

        dom = sym_virDomainLookupByUUIDString(conn, uuid);
        if (!dom) {
                if (nv_libvirt_errno() == -ENOENT)
                        return result_fail(
                                ret, NV_EXPOSE_NO_SUCH_VM, "libvirt has no domain with UUID %s.", uuid);
                return result_fail(ret, NV_EXPOSE_MANAGER_FAILED, "libvirt failed to look up domain %s: %s",
                        uuid, nv_libvirt_message());
        }

        /* SECURE: the definition is written back whole, passwords included. */
        xml = sym_virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
        if (!xml) {
                if (nv_libvirt_errno() == -ENOENT)
                        return result_fail(
                                ret, NV_EXPOSE_NO_SUCH_VM, "libvirt has no domain with UUID %s.", uuid);
                return result_fail(ret, NV_EXPOSE_MANAGER_FAILED,
                        "libvirt failed to give the definition of domain %s: %s", uuid,
                        nv_libvirt_message());
        }

        r = nv_libvirt_edit_exposure(
                xml, strlen(xml), vendor, expose, flags & NV_EXPOSE_HOST_MODEL, &changed);
        if (r == -EOPNOTSUPP)
                return not_supported(ret, xml, vendor);
        if (r == -EBADMSG)
                return result_fail(ret, NV_EXPOSE_MANAGER_FAILED,
                        "libvirt gave a definition of domain %s that is not a domain XML.", uuid);
        if (r < 0)
                return r;

        if (r > 0) {
                defined = sym_virDomainDefineXMLFlags(conn, changed, VIR_DOMAIN_DEFINE_VALIDATE);
                if (!defined)
                        return result_fail(ret, NV_EXPOSE_MANAGER_FAILED,
                                "libvirt refused the changed definition of domain %s: %s", uuid,
                                nv_libvirt_message());
        }

        /* What libvirt stored, as it reads it back (it may normalise what was defined). */
        r = domain_xml(defined ?: dom, VIR_DOMAIN_XML_INACTIVE, &now);
        if (r == -ENOENT)
                return result_fail(ret, NV_EXPOSE_NO_SUCH_VM, "libvirt has no domain with UUID %s.", uuid);
        if (r < 0)
                return result_fail(ret, NV_EXPOSE_MANAGER_FAILED,
                        "libvirt failed to give the definition of domain %s back: %s", uuid,
                        nv_libvirt_message());
        r = nv_libvirt_cpu_text(&now.cpu, &cpu);
        if (r < 0)
                return r;

        *ret = (NvExposeResult){
                .status = NV_EXPOSE_DONE, .cpu = TAKE_PTR(cpu), .changed = changed != NULL
        };
        return 0;
}

int nv_libvirt_host_model_offers(virConnectPtr conn, NvVendor vendor)
{
        _cleanup_free_ char *caps = NULL, *cpu = NULL, *expanded = NULL;
        const char *feature = nv_libvirt_vendor_feature(vendor);
        const char *cpus[1];
        int r;

        assert(conn);

        if (!feature)
                return -EOPNOTSUPP;

        caps = sym_virConnectGetDomainCapabilities(conn, NULL, NULL, NULL, NULL, 0);
        if (!caps)
                return nv_libvirt_errno();

        r = nv_libvirt_caps_host_model(caps, strlen(caps), feature, &cpu);
        if (r != -ENODATA)
                return r;

        /* The named model may have the feature itself: let libvirt list all of its features. */
        cpus[0] = cpu;
        expanded = sym_virConnectBaselineHypervisorCPU(
                conn, NULL, NULL, NULL, NULL, cpus, 1, VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES);
        if (!expanded)
                return -ENODATA;
        return nv_libvirt_cpu_xml_lists(expanded, strlen(expanded), feature);
}
