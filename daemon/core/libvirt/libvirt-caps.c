/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>

#include "libvirt-caps.h"
#include "libvirt-xml.h"

/* 1 for a policy that offers the feature, 0 for one that takes it away. */
static int offers(NvLibvirtPolicy p)
{
        return p == NV_LIBVIRT_POLICY_REQUIRE || p == NV_LIBVIRT_POLICY_FORCE ||
                p == NV_LIBVIRT_POLICY_OPTIONAL;
}

static xmlNode *find_feature(xmlNode *parent, const char *feature)
{
        for (xmlNode *f = nv_libvirt_xml_child(parent, "feature"); f; f = nv_libvirt_xml_next(f))
                if (nv_libvirt_xml_is_feature(f, feature))
                        return f;
        return NULL;
}

static xmlNode *find_mode(xmlNode *cpu, const char *name)
{
        for (xmlNode *m = nv_libvirt_xml_child(cpu, "mode"); m; m = nv_libvirt_xml_next(m)) {
                _cleanup_xml_free_ xmlChar *v = sym_xmlGetNoNsProp(m, (const xmlChar *) "name");
                if (v && streq((const char *) v, name))
                        return m;
        }
        return NULL;
}

/* The host-model <mode> as a <cpu mode='custom'> document of its own, for expansion. */
static int mode_to_cpu(xmlNode *mode, char **ret)
{
        _cleanup_xml_doc_ xmlDoc *doc = NULL;
        xmlNode *cpu;

        doc = sym_xmlNewDoc((const xmlChar *) "1.0");
        if (!doc)
                return -ENOMEM;
        cpu = sym_xmlDocCopyNode(mode, doc, 1);
        if (!cpu)
                return -ENOMEM;
        sym_xmlDocSetRootElement(doc, cpu);
        sym_xmlNodeSetName(cpu, (const xmlChar *) "cpu");
        (void) sym_xmlUnsetProp(cpu, (const xmlChar *) "name");
        (void) sym_xmlUnsetProp(cpu, (const xmlChar *) "supported");
        if (!sym_xmlSetProp(cpu, (const xmlChar *) "mode", (const xmlChar *) "custom") ||
                !sym_xmlSetProp(cpu, (const xmlChar *) "match", (const xmlChar *) "exact"))
                return -ENOMEM;
        return nv_libvirt_xml_format(doc, ret);
}

int nv_libvirt_caps_host_model(const char *caps, size_t size, const char *feature, char **ret_cpu)
{
        _cleanup_xml_doc_ xmlDoc *doc = NULL;
        _cleanup_xml_free_ xmlChar *supported = NULL;
        xmlNode *root, *mode, *f;
        int r;

        assert(feature);
        assert(ret_cpu);

        *ret_cpu = NULL;
        r = nv_libvirt_xml_read(caps, size, "domainCapabilities", &doc, &root);
        if (r < 0)
                return r;

        mode = find_mode(nv_libvirt_xml_child(root, "cpu"), "host-model");
        if (!mode)
                return 0;
        supported = sym_xmlGetNoNsProp(mode, (const xmlChar *) "supported");
        if (!supported || !streq((const char *) supported, "yes"))
                return 0;

        f = find_feature(mode, feature);
        if (f)
                return offers(nv_libvirt_xml_feature_policy(f));

        r = mode_to_cpu(mode, ret_cpu);
        if (r < 0)
                return r;
        return -ENODATA;
}

int nv_libvirt_cpu_xml_lists(const char *cpu, size_t size, const char *feature)
{
        _cleanup_xml_doc_ xmlDoc *doc = NULL;
        xmlNode *root, *f;

        assert(feature);

        if (nv_libvirt_xml_read(cpu, size, "cpu", &doc, &root) < 0)
                return -EBADMSG;
        f = find_feature(root, feature);
        return f ? offers(nv_libvirt_xml_feature_policy(f)) : 0;
}
