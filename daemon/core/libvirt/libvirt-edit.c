/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>

#include "libvirt-cpu.h"
#include "libvirt-edit.h"
#include "libvirt-xml.h"

static bool is_blank(const xmlNode *n)
{
        return n && n->type == XML_TEXT_NODE && sym_xmlIsBlankNode((xmlNode *) n);
}

/* The indentation in front of node: what follows the last newline of the blank text before it. */
static const char *indent_of(const xmlNode *node)
{
        const char *s, *nl;

        if (!is_blank(node->prev) || !node->prev->content)
                return "";
        s = (const char *) node->prev->content;
        nl = strrchr(s, '\n');
        return nl ? nl + 1 : "";
}

static xmlNode *new_blank(xmlDoc *doc, const char *indent)
{
        _cleanup_free_ char *s = NULL;

        if (asprintf(&s, "\n%s", indent) < 0)
                return NULL;
        return sym_xmlNewDocText(doc, (const xmlChar *) s);
}

static xmlNode *first_element(xmlNode *parent)
{
        for (xmlNode *n = parent->children; n; n = n->next)
                if (n->type == XML_ELEMENT_NODE)
                        return n;
        return NULL;
}

static xmlNode *last_element(xmlNode *parent)
{
        for (xmlNode *n = parent->last; n; n = n->prev)
                if (n->type == XML_ELEMENT_NODE)
                        return n;
        return NULL;
}

/*
 * The helpers below link the element first and its blank text second, next to an element: a text
 * node added beside another text node is merged into it by libxml2, which would move the line
 * break to the wrong side.
 */

/* Puts node right after ref, on a line of its own at ref's indentation. */
static int insert_after(xmlNode *ref, xmlNode *node)
{
        xmlNode *blank = new_blank(ref->doc, indent_of(ref));

        if (!blank)
                return -ENOMEM;
        sym_xmlAddNextSibling(ref, node);
        sym_xmlAddPrevSibling(node, blank);
        return 0;
}

/* Appends node as the last element of parent, indented like its first element, or one step (two
 * spaces, as libvirt writes) deeper than parent when it is the first. */
static int append_child(xmlNode *parent, xmlNode *node)
{
        _cleanup_free_ char *inner = NULL;
        xmlNode *last = last_element(parent), *a, *b;

        if (last) {
                /* The first element's indentation: the last one may follow a comment. */
                a = new_blank(parent->doc, indent_of(first_element(parent)));
                if (!a)
                        return -ENOMEM;
                sym_xmlAddNextSibling(last, node);
                sym_xmlAddPrevSibling(node, a);
                return 0;
        }

        if (asprintf(&inner, "%s  ", indent_of(parent)) < 0)
                return -ENOMEM;
        a = new_blank(parent->doc, inner);
        b = new_blank(parent->doc, indent_of(parent));
        if (!a || !b) {
                sym_xmlFreeNode(a);
                sym_xmlFreeNode(b);
                return -ENOMEM;
        }
        /* Only blank text (if anything) inside: the new lines replace it. */
        while (parent->last && is_blank(parent->last)) {
                xmlNode *t = parent->last;
                sym_xmlUnlinkNode(t);
                sym_xmlFreeNode(t);
        }
        sym_xmlAddChild(parent, node);
        sym_xmlAddPrevSibling(node, a);
        sym_xmlAddNextSibling(node, b);
        return 0;
}

/* Puts node in front of the first element of parent (or as its only one). */
static int prepend_child(xmlNode *parent, xmlNode *node)
{
        xmlNode *first = first_element(parent), *blank;

        if (!first)
                return append_child(parent, node);
        blank = new_blank(parent->doc, indent_of(first));
        if (!blank)
                return -ENOMEM;
        sym_xmlAddPrevSibling(first, node);
        sym_xmlAddNextSibling(node, blank);
        return 0;
}

/* Unlinks and frees node with the blank text that put it on its own line. */
static void remove_node(xmlNode *node)
{
        xmlNode *blank = is_blank(node->prev) ? node->prev : NULL;

        sym_xmlUnlinkNode(node);
        sym_xmlFreeNode(node);
        if (blank) {
                sym_xmlUnlinkNode(blank);
                sym_xmlFreeNode(blank);
        }
}

static void remove_children(xmlNode *parent, const char *name)
{
        xmlNode *n;

        while ((n = nv_libvirt_xml_child(parent, name)))
                remove_node(n);
}

static void remove_features(xmlNode *cpu, const char *feature)
{
        xmlNode *next;

        for (xmlNode *f = nv_libvirt_xml_child(cpu, "feature"); f; f = next) {
                next = nv_libvirt_xml_next(f);
                if (nv_libvirt_xml_is_feature(f, feature))
                        remove_node(f);
        }
}

static int add_feature(xmlNode *cpu, const char *policy, const char *feature)
{
        xmlNode *f = sym_xmlNewDocNode(cpu->doc, NULL, (const xmlChar *) "feature", NULL);

        if (!f)
                return -ENOMEM;
        /* libvirt's own attribute order. */
        if (!sym_xmlNewProp(f, (const xmlChar *) "policy", (const xmlChar *) policy) ||
                !sym_xmlNewProp(f, (const xmlChar *) "name", (const xmlChar *) feature)) {
                sym_xmlFreeNode(f);
                return -ENOMEM;
        }
        return append_child(cpu, f);
}

static int set_prop(xmlNode *node, const char *name, const char *value)
{
        return sym_xmlSetProp(node, (const xmlChar *) name, (const xmlChar *) value) ? 0 : -ENOMEM;
}

/* The model libvirt stores for an x86 guest defined without one (QEMU's default). */
static const char *default_model(const char *arch)
{
        return streq_ptr(arch, "i686") ? "qemu32" : "qemu64";
}

static int add_default_model(xmlNode *cpu, const char *arch)
{
        xmlNode *m = sym_xmlNewDocNode(
                cpu->doc, NULL, (const xmlChar *) "model", (const xmlChar *) default_model(arch));

        if (!m)
                return -ENOMEM;
        if (!sym_xmlNewProp(m, (const xmlChar *) "fallback", (const xmlChar *) "forbid")) {
                sym_xmlFreeNode(m);
                return -ENOMEM;
        }
        return prepend_child(cpu, m);
}

/* A new <cpu> as libvirt stores the default one, placed after <features> or <os>. */
static int add_cpu(xmlNode *root, xmlNode **ret)
{
        xmlNode *cpu, *ref;
        int r;

        cpu = sym_xmlNewDocNode(root->doc, NULL, (const xmlChar *) "cpu", NULL);
        if (!cpu)
                return -ENOMEM;
        if (!sym_xmlNewProp(cpu, (const xmlChar *) "mode", (const xmlChar *) "custom") ||
                !sym_xmlNewProp(cpu, (const xmlChar *) "match", (const xmlChar *) "exact") ||
                !sym_xmlNewProp(cpu, (const xmlChar *) "check", (const xmlChar *) "none")) {
                sym_xmlFreeNode(cpu);
                return -ENOMEM;
        }

        ref = nv_libvirt_xml_child(root, "features") ?: nv_libvirt_xml_child(root, "os");
        r = ref ? insert_after(ref, cpu) : append_child(root, cpu);
        if (r < 0) {
                sym_xmlFreeNode(cpu);
                return r;
        }
        *ret = cpu;
        return 0;
}

static int to_host_passthrough(xmlNode *cpu, const char *feature)
{
        int r;

        r = set_prop(cpu, "mode", "host-passthrough");
        if (r < 0)
                return r;
        /* match= and <vendor> belong to custom CPUs; <model> would name what the host is. */
        (void) sym_xmlUnsetProp(cpu, (const xmlChar *) "match");
        remove_children(cpu, "model");
        remove_children(cpu, "vendor");
        remove_features(cpu, feature);
        return 0;
}

static int expose_feature(
        xmlNode *root, xmlNode *cpu, const NvLibvirtCpu *c, const char *arch, const char *feature)
{
        int r;

        if (!cpu) {
                r = add_cpu(root, &cpu);
                if (r < 0)
                        return r;
        }
        remove_features(cpu, feature);

        /* Without the disabling feature these copy the host's CPU, vmx/svm included (host-model
         * while host nesting is on: a policy='require' would add a failed start while it is off,
         * which the same CPU without a feature does not have). */
        if (c->mode == NV_LIBVIRT_CPU_HOST_PASSTHROUGH || c->mode == NV_LIBVIRT_CPU_MAXIMUM ||
                c->mode == NV_LIBVIRT_CPU_HOST_MODEL)
                return 0;

        if ((c->mode == NV_LIBVIRT_CPU_NONE || c->mode == NV_LIBVIRT_CPU_CUSTOM) && !c->model) {
                r = add_default_model(cpu, arch);
                if (r < 0)
                        return r;
        }
        return add_feature(cpu, "require", feature);
}

static int hide_feature(xmlNode *cpu, const NvLibvirtCpu *c, const char *feature)
{
        assert(cpu); /* no <cpu> hides it already */

        remove_features(cpu, feature);
        if (c->mode == NV_LIBVIRT_CPU_CUSTOM)
                return 0;
        return add_feature(cpu, "disable", feature);
}

int nv_libvirt_edit_exposure(
        const char *xml, size_t size, NvVendor vendor, bool expose, bool host_model, char **ret)
{
        _cleanup_(nv_libvirt_domain_done) NvLibvirtDomain d = {};
        _cleanup_xml_doc_ xmlDoc *doc = NULL;
        const char *feature = nv_libvirt_vendor_feature(vendor);
        const NvLibvirtCpu *c = &d.cpu;
        NvLibvirtNesting n;
        xmlNode *root, *cpu;
        bool twice;
        int r;

        assert(ret);

        *ret = NULL;
        /* The facts from the parser, the tree to change from the same text. */
        r = nv_libvirt_domain_parse(xml, size, &d);
        if (r < 0)
                return r;
        if (!nv_libvirt_arch_is_x86(d.arch) || !feature || c->mode == NV_LIBVIRT_CPU_UNKNOWN)
                return -EOPNOTSUPP;
        r = nv_libvirt_xml_read(xml, size, "domain", &doc, &root);
        if (r < 0)
                return r;
        cpu = nv_libvirt_xml_child(root, "cpu");

        n = nv_libvirt_cpu_nesting(c, true, true, vendor);
        /* A second feature of the name is an error for libvirt: always rewritten. */
        twice = vendor == NV_VENDOR_INTEL ? c->vmx_twice : c->svm_twice;
        if (expose && host_model) {
                if (c->mode == NV_LIBVIRT_CPU_HOST_PASSTHROUGH && n.next == NV_VM_NESTING_EXPOSED && !twice)
                        return 0;
                if (!cpu) {
                        r = add_cpu(root, &cpu);
                        if (r < 0)
                                return r;
                }
                r = to_host_passthrough(cpu, feature);
        } else if (expose) {
                if (n.next == NV_VM_NESTING_EXPOSED && !twice)
                        return 0;
                r = expose_feature(root, cpu, c, d.arch, feature);
        } else {
                if (n.next == NV_VM_NESTING_HIDDEN && !twice)
                        return 0;
                r = hide_feature(cpu, c, feature);
        }
        if (r < 0)
                return r;

        r = nv_libvirt_xml_format(doc, ret);
        if (r < 0)
                return r;
        return 1;
}
