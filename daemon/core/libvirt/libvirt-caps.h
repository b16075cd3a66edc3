/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * libvirt's domain capabilities: does the host-model CPU offer a feature? The listed features
 * are those the host adds to or removes from the named model; a feature the model itself has is
 * not listed, so the caller expands the model (virConnectBaselineHypervisorCPU) and asks
 * nv_libvirt_cpu_xml_lists() about the result.
 */

#include <stddef.h>

/* 1 when caps (a <domainCapabilities> document) lists feature in its host-model CPU as required,
 * 0 when it lists it as disabled or host-model is not supported. -ENODATA when it is not listed:
 * then *ret_cpu holds the host-model CPU as a <cpu> document to expand. -EBADMSG, -ENOMEM. */
int nv_libvirt_caps_host_model(const char *caps, size_t size, const char *feature, char **ret_cpu);

/* 1 when a <cpu> document has feature with a policy that offers it, else 0; -EBADMSG. */
int nv_libvirt_cpu_xml_lists(const char *cpu, size_t size, const char *feature);
