/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <string.h>

#include "nestvirt-bus.h"

#include "vm-objects.h"

/* One row per property of org.nestvirt.NestVirt1.VM. */
static const NvPropertyField vm_fields[] = {
        { "Manager", "s", NV_FIELD_STRING, offsetof(NvVmObject, manager) },
        { "Id", "s", NV_FIELD_STRING, offsetof(NvVmObject, id) },
        { "Name", "s", NV_FIELD_STRING, offsetof(NvVmObject, name) },
        { "Running", "b", NV_FIELD_BOOL, offsetof(NvVmObject, running) },
        { "Pid", "u", NV_FIELD_UINT32, offsetof(NvVmObject, pid) },
        { "ExposedNow", "s", NV_FIELD_STRING, offsetof(NvVmObject, exposed_now) },
        { "CpuNow", "s", NV_FIELD_STRING, offsetof(NvVmObject, cpu_now) },
        { "NextStart", "s", NV_FIELD_STRING, offsetof(NvVmObject, next_start) },
        { "NextStartBy", "s", NV_FIELD_STRING, offsetof(NvVmObject, next_start_by) },
        { "Cpu", "s", NV_FIELD_STRING, offsetof(NvVmObject, cpu) },
        { "Requires", "b", NV_FIELD_BOOL, offsetof(NvVmObject, requires) },
        { "Pending", "b", NV_FIELD_BOOL, offsetof(NvVmObject, pending) },
        { "UsesKVM", "b", NV_FIELD_BOOL, offsetof(NvVmObject, uses_kvm) },
        { "Lock", "s", NV_FIELD_STRING, offsetof(NvVmObject, lock) },
        { "StartBlocked", "s", NV_FIELD_STRING, offsetof(NvVmObject, start_blocked) },
        { "Notes", "as", NV_FIELD_STRV, offsetof(NvVmObject, notes) },
};

static void vm_object_free(gpointer p)
{
        NvVmObject *vm = p;

        nv_property_fields_clear(vm, vm_fields, G_N_ELEMENTS(vm_fields));
        g_free(vm->path);
        g_clear_pointer(&vm->props, g_variant_unref);
        g_free(vm);
}

static gboolean is_number(const char *s)
{
        if (!s || !*s)
                return FALSE;
        for (; *s; s++)
                if (!g_ascii_isdigit(*s))
                        return FALSE;
        return TRUE;
}

/* Numbers of any length, without overflow: fewer digits (after leading zeros) is smaller. */
static int compare_numbers(const char *a, const char *b)
{
        size_t la, lb;

        while (*a == '0' && a[1])
                a++;
        while (*b == '0' && b[1])
                b++;
        la = strlen(a);
        lb = strlen(b);
        if (la != lb)
                return la < lb ? -1 : 1;
        return strcmp(a, b);
}

int nv_vm_object_compare(const NvVmObject *a, const NvVmObject *b)
{
        int r = g_strcmp0(a->manager, b->manager);

        if (r != 0)
                return r;
        if (is_number(a->id) && is_number(b->id))
                r = compare_numbers(a->id, b->id);
        else
                r = g_strcmp0(a->id, b->id);
        /* The path is unique: it makes the order total. */
        return r != 0 ? r : g_strcmp0(a->path, b->path);
}

static int compare_entries(gconstpointer a, gconstpointer b)
{
        return nv_vm_object_compare(*(NvVmObject *const *) a, *(NvVmObject *const *) b);
}

void nv_vm_object_list_init(NvVmObjectList *l, GVariant *reply)
{
        g_autoptr(GVariant) objects = g_variant_get_child_value(reply, 0);
        GVariantIter iter;
        const char *path;
        GVariant *interfaces;

        *l = (NvVmObjectList){ .vms = g_ptr_array_new_with_free_func(vm_object_free) };
        g_variant_iter_init(&iter, objects);
        while (g_variant_iter_loop(&iter, "{&o@a{sa{sv}}}", &path, &interfaces)) {
                g_autoptr(GVariant) props =
                        g_variant_lookup_value(interfaces, NESTVIRT_VM_INTERFACE, G_VARIANT_TYPE("a{sv}"));
                NvVmObject *vm;

                if (!props)
                        continue;
                vm = g_new0(NvVmObject, 1);
                vm->path = g_strdup(path);
                vm->props = g_steal_pointer(&props);
                nv_property_fields_store(vm, vm_fields, G_N_ELEMENTS(vm_fields), vm->props);
                g_ptr_array_add(l->vms, vm);
        }
        g_ptr_array_sort(l->vms, compare_entries);
}

void nv_vm_object_list_clear(NvVmObjectList *l)
{
        g_clear_pointer(&l->vms, g_ptr_array_unref);
}

char *nv_vm_object_key(const NvVmObject *vm)
{
        return g_strdup_printf("%s:%s", vm->manager ? vm->manager : "", vm->id ? vm->id : "");
}

/* Ids are compared without case: a libvirt UUID is the same in either; VMIDs and pids have
 * none. */
static gboolean id_equal(const char *id, const char *spec)
{
        return id && *id && g_ascii_strcasecmp(id, spec) == 0;
}

GPtrArray *nv_vm_object_list_match(const NvVmObjectList *l, const char *spec)
{
        GPtrArray *found = g_ptr_array_new();
        const char *colon = strchr(spec, ':');

        if (!*spec)
                return found;

        /* MANAGER:ID names one VM, whatever the names are. A name may hold a colon too, so a
         * spec that is no VM's MANAGER:ID is still tried as a name. */
        if (colon) {
                g_autofree char *manager = g_strndup(spec, colon - spec);

                for (guint i = 0; i < l->vms->len; i++) {
                        NvVmObject *vm = l->vms->pdata[i];

                        if (g_strcmp0(vm->manager, manager) == 0 && id_equal(vm->id, colon + 1)) {
                                g_ptr_array_add(found, vm);
                                return found;
                        }
                }
        }

        for (guint i = 0; i < l->vms->len; i++) {
                NvVmObject *vm = l->vms->pdata[i];

                if (id_equal(vm->id, spec) || g_strcmp0(vm->name, spec) == 0)
                        g_ptr_array_add(found, vm);
        }
        return found;
}
