/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>

#include "bus-vm-methods.h"
#include "bus-vm.h"
#include "daemon.h"
#include "log.h"
#include "nestvirt-bus.h"

#define VM_PATH_PREFIX_SLASH NESTVIRT_VM_PATH_PREFIX "/"

const NvVmEntry *bus_vm_entry(Daemon *d, const char *path)
{
        const char *label;

        assert(d);
        label = path ? startswith(path, VM_PATH_PREFIX_SLASH) : NULL;
        if (isempty(label) || !d->host)
                return NULL;
        return nv_inventory_find(&d->host->inventory, label);
}

char *bus_vm_path(const NvVmEntry *e)
{
        char *p;

        assert(e);
        if (asprintf(&p, VM_PATH_PREFIX_SLASH "%s", e->label) < 0)
                return NULL;
        return p;
}

/* One property: its D-Bus type and how to read it from an entry. Reads, comparisons and signals
 * all go through this table, so a property cannot be served one way and compared another. */
typedef struct VmProperty {
        const char *name;
        const char *type; /* "s", "b", "u" or "as" */
        const char *(*string)(const NvVmEntry *e);
        bool (*boolean)(const NvVmEntry *e);
        uint32_t (*number)(const NvVmEntry *e);
        char *const *(*list)(const NvVmEntry *e);
} VmProperty;

static const char *get_manager(const NvVmEntry *e)
{
        return nv_vm_manager_to_string(e->manager);
}
static const char *get_id(const NvVmEntry *e)
{
        return strempty(e->config.id);
}
static const char *get_name(const NvVmEntry *e)
{
        return strempty(e->config.name);
}
static bool get_running(const NvVmEntry *e)
{
        return e->config.running;
}
static uint32_t get_pid(const NvVmEntry *e)
{
        return e->config.running && e->config.pid > 0 ? (uint32_t) e->config.pid : 0;
}
static const char *get_exposed_now(const NvVmEntry *e)
{
        return nv_vm_nesting_to_string(e->now);
}
static const char *get_cpu_now(const NvVmEntry *e)
{
        return strempty(e->cpu_now);
}
static const char *get_next_start(const NvVmEntry *e)
{
        return nv_vm_nesting_to_string(e->config.next);
}
static const char *get_next_start_by(const NvVmEntry *e)
{
        return strempty(nv_vm_source_to_string(e->config.next_by));
}
static const char *get_cpu(const NvVmEntry *e)
{
        return e->configured ? strempty(e->config.cpu) : "";
}
static bool get_requires(const NvVmEntry *e)
{
        return nv_vm_entry_requires_nesting(e);
}
static bool get_pending(const NvVmEntry *e)
{
        return e->pending;
}
static bool get_uses_kvm(const NvVmEntry *e)
{
        return e->config.kvm;
}
static const char *get_lock(const NvVmEntry *e)
{
        return strempty(e->config.lock);
}
static const char *get_start_blocked(const NvVmEntry *e)
{
        return strempty(e->start_blocked);
}
static char *const *get_notes(const NvVmEntry *e)
{
        return e->notes;
}

static const VmProperty vm_properties[] = {
        { "Manager", "s", .string = get_manager },
        { "Id", "s", .string = get_id },
        { "Name", "s", .string = get_name },
        { "Running", "b", .boolean = get_running },
        { "Pid", "u", .number = get_pid },
        { "ExposedNow", "s", .string = get_exposed_now },
        { "CpuNow", "s", .string = get_cpu_now },
        { "NextStart", "s", .string = get_next_start },
        { "NextStartBy", "s", .string = get_next_start_by },
        { "Cpu", "s", .string = get_cpu },
        { "Requires", "b", .boolean = get_requires },
        { "Pending", "b", .boolean = get_pending },
        { "UsesKVM", "b", .boolean = get_uses_kvm },
        { "Lock", "s", .string = get_lock },
        { "StartBlocked", "s", .string = get_start_blocked },
        { "Notes", "as", .list = get_notes },
};

static const VmProperty *property_by_name(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(vm_properties); i++)
                if (streq(vm_properties[i].name, name))
                        return &vm_properties[i];
        return NULL;
}

static bool property_equal(const VmProperty *p, const NvVmEntry *a, const NvVmEntry *b)
{
        if (p->string)
                return streq(p->string(a), p->string(b));
        if (p->boolean)
                return p->boolean(a) == p->boolean(b);
        if (p->number)
                return p->number(a) == p->number(b);
        return strv_equal(p->list(a), p->list(b));
}

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const NvVmEntry *e = bus_vm_entry(userdata, path);
        const VmProperty *p = property_by_name(property);

        if (!e || !p)
                return sd_bus_error_setf(error, SD_BUS_ERROR_UNKNOWN_OBJECT, "No VM at %s.", path);
        if (p->string)
                return sd_bus_message_append(reply, "s", p->string(e));
        if (p->boolean)
                return sd_bus_message_append(reply, "b", (int) p->boolean(e));
        if (p->number)
                return sd_bus_message_append(reply, "u", p->number(e));
        return sd_bus_message_append_strv(reply, (char **) p->list(e));
}

#define EMITS SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE
#define CONST SD_BUS_VTABLE_PROPERTY_CONST

/* dbus/org.nestvirt.NestVirt1.VM.xml is the contract; a test compares it with this table. */
static const sd_bus_vtable vm_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Manager", "s", property_get, 0, CONST),
        SD_BUS_PROPERTY("Id", "s", property_get, 0, CONST),
        SD_BUS_PROPERTY("Name", "s", property_get, 0, EMITS),
        SD_BUS_PROPERTY("Running", "b", property_get, 0, EMITS),
        SD_BUS_PROPERTY("Pid", "u", property_get, 0, EMITS),
        SD_BUS_PROPERTY("ExposedNow", "s", property_get, 0, EMITS),
        SD_BUS_PROPERTY("CpuNow", "s", property_get, 0, EMITS),
        SD_BUS_PROPERTY("NextStart", "s", property_get, 0, EMITS),
        SD_BUS_PROPERTY("NextStartBy", "s", property_get, 0, EMITS),
        SD_BUS_PROPERTY("Cpu", "s", property_get, 0, EMITS),
        SD_BUS_PROPERTY("Requires", "b", property_get, 0, EMITS),
        SD_BUS_PROPERTY("Pending", "b", property_get, 0, EMITS),
        SD_BUS_PROPERTY("UsesKVM", "b", property_get, 0, EMITS),
        SD_BUS_PROPERTY("Lock", "s", property_get, 0, EMITS),
        SD_BUS_PROPERTY("StartBlocked", "s", property_get, 0, EMITS),
        SD_BUS_PROPERTY("Notes", "as", property_get, 0, EMITS),
        SD_BUS_METHOD_WITH_ARGS("SetExposure", SD_BUS_ARGS("b", expose, "t", flags),
                SD_BUS_RESULT("s", next_start, "b", restart_needed, "as", notes), method_set_exposure,
                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

static int vm_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
        sd_bus_error *error)
{
        if (!bus_vm_entry(userdata, path))
                return 0;
        *found = userdata;
        return 1;
}

static int vm_enumerate(sd_bus *bus, const char *prefix, void *userdata, char ***nodes, sd_bus_error *error)
{
        Daemon *d = userdata;
        const NvInventory *inv = &d->host->inventory;
        _cleanup_strv_free_ char **l = NULL;

        l = calloc(inv->n_vms + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < inv->n_vms; i++) {
                l[i] = bus_vm_path(&inv->vms[i]);
                if (!l[i])
                        return -ENOMEM;
        }
        *nodes = TAKE_PTR(l);
        return 1;
}

int bus_vm_register(Daemon *d)
{
        int r;

        assert(d);

        r = sd_bus_add_object_manager(d->bus, NULL, NESTVIRT_OBJECT_PATH);
        if (r < 0)
                return log_error_errno(r, "Failed to add the object manager: %m");
        r = sd_bus_add_fallback_vtable(
                d->bus, NULL, NESTVIRT_VM_PATH_PREFIX, NESTVIRT_VM_INTERFACE, vm_vtable, vm_find, d);
        if (r < 0)
                return log_error_errno(r, "Failed to export the VM objects: %m");
        r = sd_bus_add_node_enumerator(d->bus, NULL, NESTVIRT_VM_PATH_PREFIX, vm_enumerate, d);
        if (r < 0)
                return log_error_errno(r, "Failed to list the VM objects: %m");
        return 0;
}

static int emit_entry(sd_bus *bus, const NvVmEntry *e, bool added)
{
        _cleanup_free_ char *path = bus_vm_path(e);

        if (!path)
                return -ENOMEM;
        if (added)
                return sd_bus_emit_interfaces_added(bus, path, NESTVIRT_VM_INTERFACE, NULL);
        return sd_bus_emit_interfaces_removed(bus, path, NESTVIRT_VM_INTERFACE, NULL);
}

static int emit_entry_changes(sd_bus *bus, const NvVmEntry *old, const NvVmEntry *new)
{
        const char *changed[ELEMENTSOF(vm_properties) + 1];
        _cleanup_free_ char *path = NULL;
        size_t n = 0;

        for (size_t i = 0; i < ELEMENTSOF(vm_properties); i++)
                if (!property_equal(&vm_properties[i], old, new))
                        changed[n++] = vm_properties[i].name;
        if (n == 0)
                return 0;
        changed[n] = NULL;

        path = bus_vm_path(new);
        if (!path)
                return -ENOMEM;
        return sd_bus_emit_properties_changed_strv(bus, path, NESTVIRT_VM_INTERFACE, (char **) changed);
}

int bus_vm_emit_changes(sd_bus *bus, const NvInventory *old, const NvInventory *new)
{
        size_t i = 0, j = 0;
        int r = 0;

        assert(new);
        if (!bus || !old)
                return 0;

        /* Both are sorted by label: one walk finds what left, what came and what stayed. */
        while (r >= 0 && (i < old->n_vms || j < new->n_vms)) {
                int c = i >= old->n_vms   ? 1
                        : j >= new->n_vms ? -1
                                          : strcmp(old->vms[i].label, new->vms[j].label);

                if (c < 0)
                        r = emit_entry(bus, &old->vms[i++], false);
                else if (c > 0)
                        r = emit_entry(bus, &new->vms[j++], true);
                else
                        r = emit_entry_changes(bus, &old->vms[i++], &new->vms[j++]);
        }
        return r;
}
