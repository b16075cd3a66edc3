/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "libvirt-dl.h"

NV_DLSYM_DEFINE(virConnectBaselineHypervisorCPU);
NV_DLSYM_DEFINE(virConnectClose);
NV_DLSYM_DEFINE(virConnectDomainEventDeregisterAny);
NV_DLSYM_DEFINE(virConnectDomainEventRegisterAny);
NV_DLSYM_DEFINE(virConnectGetDomainCapabilities);
NV_DLSYM_DEFINE(virConnectListAllDomains);
NV_DLSYM_DEFINE(virConnectOpen);
NV_DLSYM_DEFINE(virConnectRegisterCloseCallback);
NV_DLSYM_DEFINE(virConnectUnregisterCloseCallback);
NV_DLSYM_DEFINE(virDomainDefineXMLFlags);
NV_DLSYM_DEFINE(virDomainFree);
NV_DLSYM_DEFINE(virDomainGetUUIDString);
NV_DLSYM_DEFINE(virDomainGetXMLDesc);
NV_DLSYM_DEFINE(virDomainIsActive);
NV_DLSYM_DEFINE(virDomainLookupByUUIDString);
NV_DLSYM_DEFINE(virEventRegisterImpl);
NV_DLSYM_DEFINE(virGetLastError);
NV_DLSYM_DEFINE(virGetLastErrorMessage);
NV_DLSYM_DEFINE(virSetErrorFunc);

NV_DLSYM_DEFINE(xmlAddChild);
NV_DLSYM_DEFINE(xmlAddNextSibling);
NV_DLSYM_DEFINE(xmlAddPrevSibling);
NV_DLSYM_DEFINE(xmlBufferContent);
NV_DLSYM_DEFINE(xmlBufferCreate);
NV_DLSYM_DEFINE(xmlBufferFree);
NV_DLSYM_DEFINE(xmlDocCopyNode);
NV_DLSYM_DEFINE(xmlDocGetRootElement);
NV_DLSYM_DEFINE(xmlDocSetRootElement);
NV_DLSYM_DEFINE(xmlFree);
NV_DLSYM_DEFINE(xmlFreeDoc);
NV_DLSYM_DEFINE(xmlFreeNode);
NV_DLSYM_DEFINE(xmlGetNoNsProp);
NV_DLSYM_DEFINE(xmlIsBlankNode);
NV_DLSYM_DEFINE(xmlNewDoc);
NV_DLSYM_DEFINE(xmlNewDocNode);
NV_DLSYM_DEFINE(xmlNewDocText);
NV_DLSYM_DEFINE(xmlNewProp);
NV_DLSYM_DEFINE(xmlNodeGetContent);
NV_DLSYM_DEFINE(xmlNodeSetName);
NV_DLSYM_DEFINE(xmlReadMemory);
NV_DLSYM_DEFINE(xmlSaveClose);
NV_DLSYM_DEFINE(xmlSaveDoc);
NV_DLSYM_DEFINE(xmlSaveToBuffer);
NV_DLSYM_DEFINE(xmlSetProp);
NV_DLSYM_DEFINE(xmlUnlinkNode);
NV_DLSYM_DEFINE(xmlUnsetProp);

static void *libvirt_dl = NULL, *libxml2_dl = NULL;

int dlopen_libvirt(void)
{
        return dlopen_many(&libvirt_dl, "libvirt.so.0", 0, NV_DLSYM_ARG(virConnectBaselineHypervisorCPU),
                NV_DLSYM_ARG(virConnectClose), NV_DLSYM_ARG(virConnectDomainEventDeregisterAny),
                NV_DLSYM_ARG(virConnectDomainEventRegisterAny),
                NV_DLSYM_ARG(virConnectGetDomainCapabilities), NV_DLSYM_ARG(virConnectListAllDomains),
                NV_DLSYM_ARG(virConnectOpen), NV_DLSYM_ARG(virConnectRegisterCloseCallback),
                NV_DLSYM_ARG(virConnectUnregisterCloseCallback), NV_DLSYM_ARG(virDomainDefineXMLFlags),
                NV_DLSYM_ARG(virDomainFree), NV_DLSYM_ARG(virDomainGetUUIDString),
                NV_DLSYM_ARG(virDomainGetXMLDesc), NV_DLSYM_ARG(virDomainIsActive),
                NV_DLSYM_ARG(virDomainLookupByUUIDString), NV_DLSYM_ARG(virEventRegisterImpl),
                NV_DLSYM_ARG(virGetLastError), NV_DLSYM_ARG(virGetLastErrorMessage),
                NV_DLSYM_ARG(virSetErrorFunc), (void **) NULL);
}

int dlopen_libxml2(void)
{
        return dlopen_many(&libxml2_dl, "libxml2.so.2", 0, NV_DLSYM_ARG(xmlAddChild),
                NV_DLSYM_ARG(xmlAddNextSibling), NV_DLSYM_ARG(xmlAddPrevSibling),
                NV_DLSYM_ARG(xmlBufferContent), NV_DLSYM_ARG(xmlBufferCreate), NV_DLSYM_ARG(xmlBufferFree),
                NV_DLSYM_ARG(xmlDocCopyNode), NV_DLSYM_ARG(xmlDocGetRootElement),
                NV_DLSYM_ARG(xmlDocSetRootElement), NV_DLSYM_ARG(xmlFree), NV_DLSYM_ARG(xmlFreeDoc),
                NV_DLSYM_ARG(xmlFreeNode), NV_DLSYM_ARG(xmlGetNoNsProp), NV_DLSYM_ARG(xmlIsBlankNode),
                NV_DLSYM_ARG(xmlNewDoc), NV_DLSYM_ARG(xmlNewDocNode), NV_DLSYM_ARG(xmlNewDocText),
                NV_DLSYM_ARG(xmlNewProp), NV_DLSYM_ARG(xmlNodeGetContent), NV_DLSYM_ARG(xmlNodeSetName),
                NV_DLSYM_ARG(xmlReadMemory), NV_DLSYM_ARG(xmlSaveClose), NV_DLSYM_ARG(xmlSaveDoc),
                NV_DLSYM_ARG(xmlSaveToBuffer), NV_DLSYM_ARG(xmlSetProp), NV_DLSYM_ARG(xmlUnlinkNode),
                NV_DLSYM_ARG(xmlUnsetProp), (void **) NULL);
}
