/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <limits.h>

#include "libvirt-xml.h"

static const char *const nv_libvirt_cpu_mode_table[] = {
        [NV_LIBVIRT_CPU_CUSTOM] = "custom",
        [NV_LIBVIRT_CPU_HOST_MODEL] = "host-model",
        [NV_LIBVIRT_CPU_HOST_PASSTHROUGH] = "host-passthrough",
        [NV_LIBVIRT_CPU_MAXIMUM] = "maximum",
};
NV_DEFINE_STRING_TABLE(nv_libvirt_cpu_mode, NvLibvirtCpuMode)

static const char *const nv_libvirt_policy_table[] = {
        [NV_LIBVIRT_POLICY_FORCE] = "force",
        [NV_LIBVIRT_POLICY_REQUIRE] = "require",
        [NV_LIBVIRT_POLICY_OPTIONAL] = "optional",
        [NV_LIBVIRT_POLICY_DISABLE] = "disable",
        [NV_LIBVIRT_POLICY_FORBID] = "forbid",
};
NV_DEFINE_STRING_TABLE(nv_libvirt_policy, NvLibvirtPolicy)

DEFINE_TRIVIAL_CLEANUP_FUNC(xmlBufferPtr, sym_xmlBufferFree)

void nv_libvirt_cpu_done(NvLibvirtCpu *cpu)
{
        if (!cpu)
                return;
        free(cpu->model);
        *cpu = (NvLibvirtCpu){};
}

void nv_libvirt_domain_done(NvLibvirtDomain *d)
{
        if (!d)
                return;
        free(d->type);
        free(d->name);
        free(d->uuid);
        free(d->arch);
        nv_libvirt_cpu_done(&d->cpu);
        *d = (NvLibvirtDomain){};
}

bool nv_libvirt_xml_is(const xmlNode *node, const char *name)
{
        return node && node->type == XML_ELEMENT_NODE && !node->ns && streq((const char *) node->name, name);
}

xmlNode *nv_libvirt_xml_child(xmlNode *parent, const char *name)
{
        if (!parent)
                return NULL;
        for (xmlNode *n = parent->children; n; n = n->next)
                if (nv_libvirt_xml_is(n, name))
                        return n;
        return NULL;
}

xmlNode *nv_libvirt_xml_next(xmlNode *node)
{
        assert(node);

        for (xmlNode *n = node->next; n; n = n->next)
                if (nv_libvirt_xml_is(n, (const char *) node->name))
                        return n;
        return NULL;
}

bool nv_libvirt_xml_is_feature(const xmlNode *node, const char *name)
{
        _cleanup_xml_free_ xmlChar *v = NULL;

        if (!nv_libvirt_xml_is(node, "feature"))
                return false;
        v = sym_xmlGetNoNsProp(node, (const xmlChar *) "name");
        return v && streq((const char *) v, name);
}

NvLibvirtPolicy nv_libvirt_xml_feature_policy(xmlNode *feature)
{
        _cleanup_xml_free_ xmlChar *v = NULL;
        int p;

        assert(feature);

        /* libvirt reads a guest CPU's <feature> without a policy as policy='require'. */
        v = sym_xmlGetNoNsProp(feature, (const xmlChar *) "policy");
        if (!v)
                return NV_LIBVIRT_POLICY_REQUIRE;
        p = nv_libvirt_policy_from_string((const char *) v);
        return p < 0 ? NV_LIBVIRT_POLICY_UNKNOWN : (NvLibvirtPolicy) p;
}

int nv_libvirt_xml_read(const char *xml, size_t size, const char *root, xmlDoc **ret, xmlNode **ret_root)
{
        _cleanup_xml_doc_ xmlDoc *doc = NULL;
        int r;

        assert(xml || size == 0);
        assert(root);
        assert(ret);
        assert(ret_root);

        if (size > INT_MAX)
                return -EBADMSG;

        r = dlopen_libxml2();
        if (r < 0)
                return r;

        /* Without XML_PARSE_NOENT entities stay references and without XML_PARSE_DTDLOAD nothing
         * is fetched; a document with a DTD is refused outright, since libvirt never writes one and
         * an internal subset could still make reading a node's text expand entities. */
        doc = sym_xmlReadMemory(
                xml, (int) size, NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        if (!doc)
                return -EBADMSG;
        if (doc->intSubset || doc->extSubset)
                return -EBADMSG;
        if (!nv_libvirt_xml_is(sym_xmlDocGetRootElement(doc), root))
                return -EBADMSG;

        *ret_root = sym_xmlDocGetRootElement(doc);
        *ret = TAKE_PTR(doc);
        return 0;
}

/* The text of an element (an empty string for an empty one), or NULL without the element. */
static int node_text(xmlNode *node, char **ret)
{
        _cleanup_xml_free_ xmlChar *v = NULL;

        *ret = NULL;
        if (!node)
                return 0;
        v = sym_xmlNodeGetContent(node);
        *ret = strdup(v ? (const char *) v : "");
        return *ret ? 0 : -ENOMEM;
}

static int node_prop(xmlNode *node, const char *name, char **ret)
{
        _cleanup_xml_free_ xmlChar *v = NULL;

        *ret = NULL;
        if (!node)
                return 0;
        v = sym_xmlGetNoNsProp(node, (const xmlChar *) name);
        if (!v)
                return 0;
        *ret = strdup((const char *) v);
        return *ret ? 0 : -ENOMEM;
}

int nv_libvirt_cpu_parse(xmlNode *cpu, NvLibvirtCpu *ret)
{
        _cleanup_free_ char *mode = NULL;
        NvLibvirtCpu c = { .mode = NV_LIBVIRT_CPU_NONE };
        int r;

        assert(ret);

        *ret = c;
        if (!cpu)
                return 0;

        r = node_prop(cpu, "mode", &mode);
        if (r < 0)
                return r;
        if (!mode)
                c.mode = NV_LIBVIRT_CPU_CUSTOM;
        else {
                int m = nv_libvirt_cpu_mode_from_string(mode);
                c.mode = m < 0 ? NV_LIBVIRT_CPU_UNKNOWN : (NvLibvirtCpuMode) m;
        }

        r = node_text(nv_libvirt_xml_child(cpu, "model"), &c.model);
        if (r < 0)
                return r;

        for (xmlNode *f = nv_libvirt_xml_child(cpu, "feature"); f; f = nv_libvirt_xml_next(f)) {
                if (nv_libvirt_xml_is_feature(f, "vmx")) {
                        if (c.vmx == NV_LIBVIRT_POLICY_ABSENT)
                                c.vmx = nv_libvirt_xml_feature_policy(f);
                        else
                                c.vmx_twice = true;
                } else if (nv_libvirt_xml_is_feature(f, "svm")) {
                        if (c.svm == NV_LIBVIRT_POLICY_ABSENT)
                                c.svm = nv_libvirt_xml_feature_policy(f);
                        else
                                c.svm_twice = true;
                }
        }

        *ret = c;
        return 0;
}

int nv_libvirt_domain_parse(const char *xml, size_t size, NvLibvirtDomain *ret)
{
        _cleanup_(nv_libvirt_domain_done) NvLibvirtDomain d = {};
        _cleanup_xml_doc_ xmlDoc *doc = NULL;
        xmlNode *root;
        int r;

        assert(ret);

        r = nv_libvirt_xml_read(xml, size, "domain", &doc, &root);
        if (r < 0)
                return r;

        r = node_prop(root, "type", &d.type);
        if (r < 0)
                return r;
        r = node_text(nv_libvirt_xml_child(root, "name"), &d.name);
        if (r < 0)
                return r;
        r = node_text(nv_libvirt_xml_child(root, "uuid"), &d.uuid);
        if (r < 0)
                return r;
        r = node_prop(nv_libvirt_xml_child(nv_libvirt_xml_child(root, "os"), "type"), "arch", &d.arch);
        if (r < 0)
                return r;
        r = nv_libvirt_cpu_parse(nv_libvirt_xml_child(root, "cpu"), &d.cpu);
        if (r < 0)
                return r;

        *ret = d;
        d = (NvLibvirtDomain){};
        return 0;
}

int nv_libvirt_xml_format(xmlDoc *doc, char **ret)
{
        _cleanup_(sym_xmlBufferFreep) xmlBuffer *buf = NULL;
        xmlSaveCtxt *save;
        char *s;

        assert(doc);
        assert(ret);

        buf = sym_xmlBufferCreate();
        if (!buf)
                return -ENOMEM;
        /* No XML declaration (libvirt writes none) and no reformatting. */
        save = sym_xmlSaveToBuffer(buf, "UTF-8", XML_SAVE_NO_DECL);
        if (!save)
                return -ENOMEM;
        if (sym_xmlSaveDoc(save, doc) < 0) {
                (void) sym_xmlSaveClose(save);
                return -ENOMEM;
        }
        if (sym_xmlSaveClose(save) < 0)
                return -ENOMEM;

        s = strdup((const char *) sym_xmlBufferContent(buf));
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}
