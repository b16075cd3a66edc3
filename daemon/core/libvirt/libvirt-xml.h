/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The parts of a libvirt domain XML that decide nesting, read with libxml2: the domain's type,
 * name, UUID and guest architecture, and its <cpu> (mode, model, and the policies of the vmx and
 * svm <feature>s). The helpers below are shared with the editor (libvirt-edit.h).
 */

#include <stdbool.h>
#include <stddef.h>

#include "libvirt-dl.h"
#include "nestvirt-string-table.h"
#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(xmlDocPtr, sym_xmlFreeDoc)
#define _cleanup_xml_doc_ _cleanup_(sym_xmlFreeDocp)
/* xmlFree is a pointer libxml2 lets applications replace: call it, never free(). */
static inline void nv_xml_freep(xmlChar **p)
{
        if (*p)
                (*sym_xmlFree)(*p);
}
#define _cleanup_xml_free_ _cleanup_(nv_xml_freep)

typedef enum NvLibvirtCpuMode {
        NV_LIBVIRT_CPU_NONE, /* no <cpu>: libvirt and QEMU pick their default model */
        NV_LIBVIRT_CPU_CUSTOM, /* also a <cpu> without a mode attribute */
        NV_LIBVIRT_CPU_HOST_MODEL,
        NV_LIBVIRT_CPU_HOST_PASSTHROUGH,
        NV_LIBVIRT_CPU_MAXIMUM,
        NV_LIBVIRT_CPU_UNKNOWN, /* a mode newer than this code */
} NvLibvirtCpuMode;

/* The XML names: "custom", "host-model", "host-passthrough", "maximum"; NULL for NONE and
 * UNKNOWN. */
NV_DECLARE_STRING_TABLE(nv_libvirt_cpu_mode, NvLibvirtCpuMode)

typedef enum NvLibvirtPolicy {
        NV_LIBVIRT_POLICY_ABSENT, /* no <feature> of that name */
        NV_LIBVIRT_POLICY_FORCE,
        NV_LIBVIRT_POLICY_REQUIRE, /* also a <feature> without a policy, as libvirt reads it */
        NV_LIBVIRT_POLICY_OPTIONAL,
        NV_LIBVIRT_POLICY_DISABLE,
        NV_LIBVIRT_POLICY_FORBID,
        NV_LIBVIRT_POLICY_UNKNOWN, /* a policy libvirt would reject */
} NvLibvirtPolicy;

/* "force", "require", "optional", "disable", "forbid"; NULL for ABSENT and UNKNOWN. */
NV_DECLARE_STRING_TABLE(nv_libvirt_policy, NvLibvirtPolicy)

typedef struct NvLibvirtCpu {
        NvLibvirtCpuMode mode;
        char *model; /* the <model> text, or NULL */
        /* The first <feature> of each name: libvirt refuses a second one, so a definition it
         * stored has at most one. */
        NvLibvirtPolicy vmx;
        NvLibvirtPolicy svm;
        bool vmx_twice, svm_twice; /* a second <feature> of that name (hand-written XML) */
} NvLibvirtCpu;

typedef struct NvLibvirtDomain {
        char *type; /* <domain type=...>: "kvm", "qemu", ... */
        char *name;
        char *uuid;
        char *arch; /* <os><type arch=...>, or NULL */
        NvLibvirtCpu cpu;
} NvLibvirtDomain;

void nv_libvirt_cpu_done(NvLibvirtCpu *cpu);
void nv_libvirt_domain_done(NvLibvirtDomain *d);

/* Parses a domain XML of size bytes (no NUL needed). -EBADMSG when it is not well-formed or its
 * root is not <domain>, -ENOMEM. */
int nv_libvirt_domain_parse(const char *xml, size_t size, NvLibvirtDomain *ret);

/* Fills ret from a <cpu> element, or with mode NONE for NULL. 0 or -ENOMEM. */
int nv_libvirt_cpu_parse(xmlNode *cpu, NvLibvirtCpu *ret);

/* Reads a document the way every caller here does: no network, no entity substitution, no DTD
 * loading, and its root must be an element named root (returned in *ret_root). -EBADMSG
 * otherwise. Every document starts here, so this loads libxml2 (dlopen_libxml2(), whose error it
 * returns). */
int nv_libvirt_xml_read(const char *xml, size_t size, const char *root, xmlDoc **ret, xmlNode **ret_root);

/* The first child element of parent named name (without a namespace), or NULL. */
xmlNode *nv_libvirt_xml_child(xmlNode *parent, const char *name);
/* The next sibling element after node with the same name, or NULL. */
xmlNode *nv_libvirt_xml_next(xmlNode *node);
/* Whether node is an element named name without a namespace. */
bool nv_libvirt_xml_is(const xmlNode *node, const char *name);
/* Whether node is a <feature> whose name is name. */
bool nv_libvirt_xml_is_feature(const xmlNode *node, const char *name);
/* The policy of a <feature> element. */
NvLibvirtPolicy nv_libvirt_xml_feature_policy(xmlNode *feature);

/* Writes doc back as text without an XML declaration (libvirt writes none) and without
 * reformatting. 0 or -ENOMEM. */
int nv_libvirt_xml_format(xmlDoc *doc, char **ret);
