/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>

#include "libvirt-test-util.h"
#include "libvirt-xml.h"

char *nv_test_without_cpu(const char *xml)
{
        _cleanup_xml_doc_ xmlDoc *doc = NULL;
        xmlNode *root, *cpu;
        char *s = NULL;

        ck_assert_int_eq(nv_libvirt_xml_read(xml, strlen(xml), "domain", &doc, &root), 0);
        cpu = nv_libvirt_xml_child(root, "cpu");
        if (cpu) {
                xmlNode *blank = cpu->prev && sym_xmlIsBlankNode(cpu->prev) ? cpu->prev : NULL;

                sym_xmlUnlinkNode(cpu);
                sym_xmlFreeNode(cpu);
                if (blank) {
                        sym_xmlUnlinkNode(blank);
                        sym_xmlFreeNode(blank);
                }
        }
        ck_assert_int_eq(nv_libvirt_xml_format(doc, &s), 0);
        return s;
}
