/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stddef.h>

#include "bus-host.h"
#include "bus-inspect.h"
#include "bus-methods.h"
#include "bus-object.h"
#include "bus-subscribe.h"
#include "daemon.h"

/* dbus/org.nestvirt.NestVirt1.xml is the contract; a test compares it with this table's output. */
#define EMITS SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE
/* Property getters see only the snapshot: sd-bus hands them userdata plus this offset. */
#define HOST offsetof(Daemon, host)

const sd_bus_vtable nv_object_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("KernelRelease", "s", property_get_string, HOST, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Vendor", "s", property_get_string, HOST, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("VendorId", "s", property_get_string, HOST, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Module", "s", property_get_string, HOST, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("HardwareSupport", "b", property_get_bool, HOST, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Role", "s", property_get_string, HOST, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Hypervisor", "s", property_get_string, HOST, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ModuleState", "s", property_get_string, HOST, EMITS),
        SD_BUS_PROPERTY("ModuleRefCount", "u", property_get_refcount, HOST, EMITS),
        SD_BUS_PROPERTY("Nested", "s", property_get_string, HOST, EMITS),
        SD_BUS_PROPERTY("NestedNextLoad", "s", property_get_string, HOST, EMITS),
        SD_BUS_PROPERTY("NestedNextLoadSource", "s", property_get_string, HOST, EMITS),
        SD_BUS_PROPERTY("NestedSettings", "a(sss)", property_get_settings, HOST, EMITS),
        SD_BUS_PROPERTY("NestedOverridden", "as", property_get_overridden, HOST, EMITS),
        SD_BUS_PROPERTY("NestedConflict", "b", property_get_bool, HOST, EMITS),
        SD_BUS_PROPERTY("ModulesDisabled", "b", property_get_bool, HOST, EMITS),
        SD_BUS_PROPERTY("VMCount", "u", property_get_vm_count, HOST, EMITS),

        SD_BUS_METHOD_WITH_ARGS("SetNested", SD_BUS_ARGS("b", enabled, "t", flags),
                SD_BUS_RESULT("s", nested, "s", next_load, "s", next_load_source), method_set_nested,
                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ResetPersistent", SD_BUS_ARGS("t", flags),
                SD_BUS_RESULT("s", next_load, "s", next_load_source), method_reset_persistent,
                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Enforce", SD_BUS_ARGS("t", flags), SD_BUS_RESULT("s", nested, "b", changed),
                method_enforce, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListVMs", SD_BUS_NO_ARGS,
                SD_BUS_RESULT("a(uussssss)", vms, "u", uninspected), method_list_vms,
                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Check", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(ssss)", findings), method_check,
                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS(
                "Subscribe", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_subscribe, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Unsubscribe", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_unsubscribe,
                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};
