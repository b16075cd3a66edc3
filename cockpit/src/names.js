// SPDX-License-Identifier: LGPL-2.1-or-later
// The names of nestvirtd's D-Bus API (dbus/org.nestvirt.NestVirt1.xml and
// org.nestvirt.NestVirt1.VM.xml; common/nestvirt-bus.h holds the same for the C side).

export const BUS_NAME = "org.nestvirt.NestVirt1";
export const OBJECT_PATH = "/org/nestvirt/NestVirt1";
export const INTERFACE = BUS_NAME;
export const VM_INTERFACE = BUS_NAME + ".VM";

export const SET_RUNTIME = 1;
export const SET_PERSISTENT = 2;
export const EXPOSE_HOST_MODEL = 1;

export const ERROR_PREFIX = BUS_NAME + ".Error.";

// The journal field every audit record carries (daemon/bus/audit.c).
export const SYSLOG_IDENTIFIER = "nestvirtd";
