/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * libvirt and libxml2, loaded with dlopen() on first use (dl-util.h). Linked, libvirt maps some
 * sixty libraries (GLib, GnuTLS, curl, krb5, ICU, ...) into every nestvirtd, including those on
 * hosts without libvirt; loaded, it costs only the hosts that use it.
 */

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlsave.h>

#include "dl-util.h"

NV_DLSYM_PROTOTYPE(virConnectBaselineHypervisorCPU);
NV_DLSYM_PROTOTYPE(virConnectClose);
NV_DLSYM_PROTOTYPE(virConnectDomainEventDeregisterAny);
NV_DLSYM_PROTOTYPE(virConnectDomainEventRegisterAny);
NV_DLSYM_PROTOTYPE(virConnectGetDomainCapabilities);
NV_DLSYM_PROTOTYPE(virConnectListAllDomains);
NV_DLSYM_PROTOTYPE(virConnectOpen);
NV_DLSYM_PROTOTYPE(virConnectRegisterCloseCallback);
NV_DLSYM_PROTOTYPE(virConnectUnregisterCloseCallback);
NV_DLSYM_PROTOTYPE(virDomainDefineXMLFlags);
NV_DLSYM_PROTOTYPE(virDomainFree);
NV_DLSYM_PROTOTYPE(virDomainGetUUIDString);
NV_DLSYM_PROTOTYPE(virDomainGetXMLDesc);
NV_DLSYM_PROTOTYPE(virDomainIsActive);
NV_DLSYM_PROTOTYPE(virDomainLookupByUUIDString);
NV_DLSYM_PROTOTYPE(virEventRegisterImpl);
NV_DLSYM_PROTOTYPE(virGetLastError);
NV_DLSYM_PROTOTYPE(virGetLastErrorMessage);
NV_DLSYM_PROTOTYPE(virSetErrorFunc);

NV_DLSYM_PROTOTYPE(xmlAddChild);
NV_DLSYM_PROTOTYPE(xmlAddNextSibling);
NV_DLSYM_PROTOTYPE(xmlAddPrevSibling);
NV_DLSYM_PROTOTYPE(xmlBufferContent);
NV_DLSYM_PROTOTYPE(xmlBufferCreate);
NV_DLSYM_PROTOTYPE(xmlBufferFree);
NV_DLSYM_PROTOTYPE(xmlDocCopyNode);
NV_DLSYM_PROTOTYPE(xmlDocGetRootElement);
NV_DLSYM_PROTOTYPE(xmlDocSetRootElement);
/* A variable, not a function: the address of libxml2's xmlFree, called as (*sym_xmlFree)(p). */
NV_DLSYM_PROTOTYPE(xmlFree);
NV_DLSYM_PROTOTYPE(xmlFreeDoc);
NV_DLSYM_PROTOTYPE(xmlFreeNode);
NV_DLSYM_PROTOTYPE(xmlGetNoNsProp);
NV_DLSYM_PROTOTYPE(xmlIsBlankNode);
NV_DLSYM_PROTOTYPE(xmlNewDoc);
NV_DLSYM_PROTOTYPE(xmlNewDocNode);
NV_DLSYM_PROTOTYPE(xmlNewDocText);
NV_DLSYM_PROTOTYPE(xmlNewProp);
NV_DLSYM_PROTOTYPE(xmlNodeGetContent);
NV_DLSYM_PROTOTYPE(xmlNodeSetName);
NV_DLSYM_PROTOTYPE(xmlReadMemory);
NV_DLSYM_PROTOTYPE(xmlSaveClose);
NV_DLSYM_PROTOTYPE(xmlSaveDoc);
NV_DLSYM_PROTOTYPE(xmlSaveToBuffer);
NV_DLSYM_PROTOTYPE(xmlSetProp);
NV_DLSYM_PROTOTYPE(xmlUnlinkNode);
NV_DLSYM_PROTOTYPE(xmlUnsetProp);

/* Loads libvirt.so.0 and every sym_vir* pointer, all or none (dlopen_many()). */
int dlopen_libvirt(void);
/* The same for libxml2.so.2 and the sym_xml* pointers. */
int dlopen_libxml2(void);
