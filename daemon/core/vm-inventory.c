/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <ctype.h>

#include "config.h"

#include "findings-text.h"
#include "host-path.h"
#include "util.h"
#include "vm-inventory.h"
#if HAVE_LIBVIRT
#include "libvirt-vms.h"
#endif

#define NV_VMS_NAMED_MAX 10

static void entry_done(NvVmEntry *e)
{
        free(e->label);
        nv_vm_config_done(&e->config);
        free(e->cpu_now);
        free(e->start_blocked);
        strv_free(e->notes);
}

void nv_inventory_done(NvInventory *inv)
{
        if (!inv)
                return;
        for (size_t i = 0; i < inv->n_vms; i++)
                entry_done(&inv->vms[i]);
        free(inv->vms);
        nv_pve_node_done(&inv->pve);
        *inv = (NvInventory){};
}

/* MANAGER_ID, with "_" for every character an object path element cannot hold. */
static char *make_label(NvVmManager manager, const char *id)
{
        char *s = text_new("%s_%s", nv_vm_manager_to_string(manager), strempty(id));

        for (char *p = s; p && *p; p++)
                if (!isascii(*p) || !isalnum(*p))
                        *p = '_';
        return s;
}

static int push_entry(NvInventory *inv, NvVmEntry *e)
{
        NvVmEntry *n = reallocarray(inv->vms, inv->n_vms + 1, sizeof(NvVmEntry));

        if (!n)
                return -ENOMEM;
        inv->vms = n;
        inv->vms[inv->n_vms++] = *e;
        *e = (NvVmEntry){};
        return 0;
}

/* What the running process shows: its effective -cpu, from /proc/PID/cmdline. */
static int read_running_cpu(pid_t pid, NvVmEntry *e)
{
        _cleanup_free_ char *path = NULL, *cmdline = NULL;
        NvVm vm = {};
        size_t len;
        int r;

        if (pid <= 0)
                return 0;
        path = text_new("/proc/%d/cmdline", (int) pid);
        if (!path)
                return -ENOMEM;
        r = nv_host_read_file(path, &cmdline, &len);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0; /* gone meanwhile: the next refresh knows */
        r = nv_vm_parse_cmdline(cmdline, len, &vm);
        if (r >= 0) {
                e->now = vm.nesting;
                e->cpu_now = TAKE_PTR(vm.cpu);
        }
        free(vm.comm);
        free(vm.name);
        free(vm.vm_id);
        free(vm.cpu);
        return r == -ENOMEM ? r : 0;
}

static int dup_ptr(const char *s, char **ret)
{
        *ret = s ? strdup(s) : NULL;
        return !s || *ret ? 0 : -ENOMEM;
}

static int config_copy(const NvVmConfig *c, NvVmConfig *ret)
{
        NvVmConfig n = *c;

        n.id = n.name = n.cpu = n.cpu_now = n.lock = NULL;
        if (dup_ptr(c->id, &n.id) < 0 || dup_ptr(c->name, &n.name) < 0 || dup_ptr(c->cpu, &n.cpu) < 0 ||
                dup_ptr(c->cpu_now, &n.cpu_now) < 0 || dup_ptr(c->lock, &n.lock) < 0) {
                nv_vm_config_done(&n);
                return -ENOMEM;
        }
        *ret = n;
        return 0;
}

static int pve_node_copy(const NvPveNode *n, NvPveNode *ret)
{
        NvPveNode c = *n;

        c.node = c.qemu_server_version = NULL;
        if (dup_ptr(n->node, &c.node) < 0 || dup_ptr(n->qemu_server_version, &c.qemu_server_version) < 0) {
                nv_pve_node_done(&c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

/* The processes of one manager by the key its configs are matched with (PVE: the VMID, libvirt:
 * the name), for lookups in logarithmic time; procs->vms is sorted by pid. */
typedef struct ProcIndex {
        const NvVmList *procs;
        const NvVm **by_key;
        size_t n;
} ProcIndex;

static const char *proc_key(const NvVm *vm)
{
        switch (vm->manager) {
        case NV_VM_MANAGER_PROXMOX:
                return vm->vm_id;
        case NV_VM_MANAGER_LIBVIRT:
                return vm->name;
        default:
                return NULL;
        }
}

/* By manager, then key, then pid: the first of equal keys is the one a walk over procs meets. */
static int proc_key_cmp(const void *a, const void *b)
{
        const NvVm *x = *(const NvVm *const *) a, *y = *(const NvVm *const *) b;
        int c;

        if (x->manager != y->manager)
                return x->manager < y->manager ? -1 : 1;
        c = strcmp(proc_key(x), proc_key(y));
        if (c != 0)
                return c;
        return (x->pid > y->pid) - (x->pid < y->pid);
}

static int proc_index_init(ProcIndex *ix, const NvVmList *procs)
{
        *ix = (ProcIndex){ .procs = procs };
        if (!procs || procs->n_vms == 0)
                return 0;
        ix->by_key = calloc(procs->n_vms, sizeof(NvVm *));
        if (!ix->by_key)
                return -ENOMEM;
        for (size_t i = 0; i < procs->n_vms; i++)
                if (proc_key(&procs->vms[i]))
                        ix->by_key[ix->n++] = &procs->vms[i];
        if (ix->n > 0)
                qsort(ix->by_key, ix->n, sizeof(NvVm *), proc_key_cmp);
        return 0;
}

static int pid_cmp(const void *key, const void *elem)
{
        pid_t a = *(const pid_t *) key, b = ((const NvVm *) elem)->pid;
        return (a > b) - (a < b);
}

/* The process of procs that runs this configured VM, when the manager did not say. */
static const NvVm *find_process(const ProcIndex *ix, NvVmManager manager, const NvVmConfig *c)
{
        const char *key = manager == NV_VM_MANAGER_PROXMOX ? c->id
                : manager == NV_VM_MANAGER_LIBVIRT         ? c->name
                                                           : NULL;
        size_t lo = 0, hi = ix->n;

        if (!ix->procs || ix->procs->n_vms == 0)
                return NULL;
        if (c->pid > 0)
                return bsearch(&c->pid, ix->procs->vms, ix->procs->n_vms, sizeof(NvVm), pid_cmp);
        if (!key)
                return NULL;
        /* The first process with this manager and key. */
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                const NvVm *vm = ix->by_key[mid];
                int d = vm->manager != manager ? (vm->manager < manager ? -1 : 1)
                                               : strcmp(proc_key(vm), key);

                if (d < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (lo < ix->n && ix->by_key[lo]->manager == manager && streq(proc_key(ix->by_key[lo]), key))
                return ix->by_key[lo];
        return NULL;
}

static int add_configs(NvInventory *inv, NvVmManager manager, const NvVmConfig *configs, size_t n,
        const ProcIndex *ix, bool *claimed)
{
        for (size_t i = 0; i < n; i++) {
                NvVmEntry e = { .manager = manager, .configured = true };
                const NvVm *proc = find_process(ix, manager, &configs[i]);
                int r;

                r = config_copy(&configs[i], &e.config);
                if (r < 0)
                        return r;
                if (proc) {
                        claimed[proc - ix->procs->vms] = true;
                        e.config.running = true;
                        if (e.config.pid <= 0)
                                e.config.pid = proc->pid;
                }
                e.label = make_label(manager, e.config.id);
                if (!e.label)
                        r = -ENOMEM;
                else if (proc && proc->pid == e.config.pid) {
                        /* What the scan read from the same process's command line. */
                        e.now = proc->nesting;
                        r = dup_ptr(proc->cpu, &e.cpu_now);
                } else
                        r = read_running_cpu(e.config.running ? e.config.pid : 0, &e);
                if (r >= 0)
                        r = push_entry(inv, &e);
                if (r < 0) {
                        entry_done(&e);
                        return r;
                }
        }
        return 0;
}

static void configs_free(NvVmConfig *configs, size_t n)
{
        for (size_t i = 0; i < n; i++)
                nv_vm_config_done(&configs[i]);
        free(configs);
}

/* A KVM user that no configuration describes: what its command line says is all there is. */
static int add_process(NvInventory *inv, const NvVm *vm)
{
        NvVmEntry e = {
                .manager = vm->manager,
                .now = vm->nesting,
                .config = {
                        .next = vm->nesting,
                        .next_by = NV_VM_SOURCE_COMMAND_LINE,
                        .kvm = true,
                        .x86 = true,
                        .running = true,
                        .pid = vm->pid,
                },
        };
        int r = -ENOMEM;

        /* A Proxmox VE VM keeps its VMID even when its config is not on this node (yet). */
        if (vm->manager == NV_VM_MANAGER_PROXMOX && vm->vm_id)
                e.config.id = strdup(vm->vm_id);
        else
                e.config.id = text_new("%d", (int) vm->pid);
        e.config.name = vm->name ? strdup(vm->name) : NULL;
        e.cpu_now = vm->cpu ? strdup(vm->cpu) : NULL;
        if (e.config.id && (e.config.name || !vm->name) && (e.cpu_now || !vm->cpu)) {
                e.label = make_label(e.manager, e.config.id);
                r = e.label ? push_entry(inv, &e) : -ENOMEM;
        }
        entry_done(&e);
        return r;
}

bool nv_vm_entry_requires_nesting(const NvVmEntry *e)
{
        assert(e);
        return e->config.requires && e->config.kvm && e->config.x86;
}

static int add_note(NvVmEntry *e, char *note)
{
        _cleanup_free_ char *s = note;

        if (!s)
                return -ENOMEM;
        return strv_extend(&e->notes, s);
}

/* The sentences an admin acts on, from what the entry says and the host's live value. */
static int annotate(NvVmEntry *e, const NvInventoryHost *host)
{
        NvVendor vendor = host->vendor;
        NvNested host_nested = host->nested;
        const char *flag = nv_vendor_flag_to_string(vendor);
        const NvVmConfig *c = &e->config;
        int r = 0;

        if (!c->x86)
                return add_note(e, text_new("Not an x86 guest: %s does not apply to it.", flag));
        if (!c->kvm)
                r = add_note(
                        e, text_new("Runs without KVM (emulated), so host nesting does not concern it."));
        if (r >= 0 && c->kvm && c->next == NV_VM_NESTING_EXPOSED && host_nested == NV_NESTED_DISABLED)
                r = add_note(e,
                        text_new("Host nesting is off: the guest does not see %s at its next start%s "
                                 "until nesting is turned on.",
                                flag, c->requires ? ", and the VM does not start," : ""));
        if (r >= 0 && e->pending)
                r = add_note(e,
                        text_new("The next start differs from now: only a cold restart applies it, "
                                 "not a reboot inside the guest%s.",
                                e->manager == NV_VM_MANAGER_PROXMOX ? " (qm reboot, or a stop and start)"
                                                                    : ""));
        if (r >= 0 && c->next == NV_VM_NESTING_EXPOSED && c->next_by == NV_VM_SOURCE_HOST_MODEL)
                r = add_note(e,
                        text_new("Exposed through the host CPU model: live migration works only between "
                                 "hosts with the same CPU, microcode and QEMU."));
        if (r >= 0 && vendor == NV_VENDOR_AMD &&
                (e->now == NV_VM_NESTING_EXPOSED || c->next == NV_VM_NESTING_EXPOSED))
                r = add_note(e,
                        text_new("On AMD, do not migrate or save this VM while it runs guests of its own."));
        if (r >= 0 && c->lock)
                r = add_note(e,
                        text_new("Locked by Proxmox VE (%s): its configuration cannot be changed until "
                                 "the lock is released.",
                                c->lock));
        return r;
}

static NvStartBlock start_block(const NvVmEntry *e, const NvInventoryHost *host)
{
        const NvVmConfig *c = &e->config;

        /* A process without a configuration has no next start that nestvirt could know. */
        if (!e->configured || !c->kvm || !c->x86)
                return NV_START_OK;
        /* KVM needs the extension; an unknown vendor has no KVM module nestvirt knows. */
        if (host->vendor != NV_VENDOR_UNKNOWN && !host->hardware_support)
                return NV_START_NO_EXTENSION;
        /* The VM starts with the live value, or with the next load's when the module is not
         * loaded: starting a VM loads it. */
        if (nv_vm_entry_requires_nesting(e) &&
                (host->nested == NV_NESTED_DISABLED ||
                        (host->nested == NV_NESTED_UNKNOWN && host->next_load == NV_NESTED_DISABLED)))
                return NV_START_NESTING_OFF;
        return NV_START_OK;
}

/* How the entry's manager runs it without KVM, for "Run it without KVM (...)". */
static char *without_kvm_text(const NvVmEntry *e)
{
        const char *id = strempty(e->config.id);

        switch (e->manager) {
        case NV_VM_MANAGER_PROXMOX:
                return text_new("qm set %s --kvm 0", id);
        case NV_VM_MANAGER_LIBVIRT:
                return text_new("domain type qemu instead of kvm: virsh edit %s",
                        isempty(e->config.name) ? id : e->config.name);
        default:
                return text_new("QEMU: -accel tcg");
        }
}

/* The sentence of StartBlocked: why the next start fails here and what makes it start. */
static int describe_start_block(NvVmEntry *e, const NvInventoryHost *host)
{
        _cleanup_free_ char *how = NULL;
        const char *flag = nv_vendor_flag_to_string(host->vendor);

        switch (e->start_block) {
        case NV_START_OK:
                return 0;
        case NV_START_NO_EXTENSION:
                how = without_kvm_text(e);
                if (!how)
                        return -ENOMEM;
                if (host->guest)
                        e->start_blocked =
                                text_new("This machine is a VM whose hypervisor does not expose %s: a VM "
                                         "that uses KVM cannot start here. Run it without KVM (%s), or "
                                         "have the hypervisor's administrator expose %s to this machine "
                                         "and power-cycle it.",
                                        flag, how, flag);
                else
                        e->start_blocked = text_new(
                                "This machine's CPU does not show %s (it lacks the extension, or the "
                                "firmware disabled it): a VM that uses KVM cannot start here. Run it "
                                "without KVM (%s), or enable the extension in the firmware setup and "
                                "power the machine off and on.",
                                flag, how);
                break;
        case NV_START_NESTING_OFF:
                e->start_blocked = text_new(
                        "Host nesting is off and this VM requires %s: it cannot start until nesting is "
                        "on (nestvirtctl enable) or %s is hidden from it (nestvirtctl vm hide %s:%s).",
                        flag, flag, nv_vm_manager_to_string(e->manager), strempty(e->config.id));
                break;
        }
        return e->start_blocked ? 0 : -ENOMEM;
}

static void finish_entry(NvVmEntry *e)
{
        const NvVmConfig *c = &e->config;

        if (!c->running) {
                e->now = NV_VM_NESTING_UNKNOWN;
                e->pending = false;
                return;
        }
        if (!c->x86)
                e->now = NV_VM_NESTING_UNKNOWN;
        e->pending = c->pending_change ||
                (e->now != NV_VM_NESTING_UNKNOWN && c->next != NV_VM_NESTING_UNKNOWN && e->now != c->next);
}

static int entry_cmp(const void *a, const void *b)
{
        return strcmp(((const NvVmEntry *) a)->label, ((const NvVmEntry *) b)->label);
}

int nv_inventory_assemble(const NvInventoryHost *host, const NvInventoryParts *parts, NvInventory *ret)
{
        _cleanup_(nv_inventory_done) NvInventory inv = {};
        _cleanup_free_ bool *claimed = NULL;
        const NvVmList *procs;
        size_t n_procs;
        ProcIndex ix;
        int r = 0;

        assert(host);
        assert(parts);
        assert(ret);

        procs = parts->procs;
        n_procs = procs ? procs->n_vms : 0;
        claimed = calloc(n_procs + 1, sizeof(bool));
        if (!claimed)
                return -ENOMEM;
        r = proc_index_init(&ix, procs);
        if (r < 0)
                return r;

        if (parts->pve && parts->pve->present)
                r = pve_node_copy(parts->pve, &inv.pve);
        if (r >= 0 && inv.pve.present)
                r = add_configs(&inv, NV_VM_MANAGER_PROXMOX, parts->pve_vms, parts->n_pve_vms, &ix, claimed);
        inv.libvirt = parts->libvirt;
        inv.libvirt_error = parts->libvirt_error;
        if (r >= 0 && parts->libvirt)
                r = add_configs(
                        &inv, NV_VM_MANAGER_LIBVIRT, parts->libvirt_vms, parts->n_libvirt_vms, &ix, claimed);
        free(ix.by_key);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_procs; i++)
                if (!claimed[i]) {
                        r = add_process(&inv, &procs->vms[i]);
                        if (r < 0)
                                return r;
                }

        for (size_t i = 0; i < inv.n_vms; i++) {
                NvVmEntry *e = &inv.vms[i];

                finish_entry(e);
                e->start_block = start_block(e, host);
                r = describe_start_block(e, host);
                if (r >= 0)
                        r = annotate(e, host);
                if (r < 0)
                        return r;
        }

        if (inv.n_vms > 0)
                qsort(inv.vms, inv.n_vms, sizeof(NvVmEntry), entry_cmp);
        /* Two entries with one label (a PVE VMID seen as a process while its config is elsewhere
         * and as a config) would be one object: keep the first. */
        for (size_t i = 1; i < inv.n_vms;)
                if (streq(inv.vms[i - 1].label, inv.vms[i].label)) {
                        entry_done(&inv.vms[i]);
                        memmove(&inv.vms[i], &inv.vms[i + 1], (inv.n_vms - i - 1) * sizeof(NvVmEntry));
                        inv.n_vms--;
                } else
                        i++;

        *ret = inv;
        inv = (NvInventory){};
        return 0;
}

int nv_inventory_read_pve(NvPveCache *cache, NvVendor vendor, unsigned flags, NvPveNode *ret_node,
        NvVmConfig **ret, size_t *ret_n)
{
        int r;

        *ret = NULL;
        *ret_n = 0;
        r = nv_pve_node_read(ret_node);
        if (r < 0 || !ret_node->present)
                return r == -ENOMEM ? r : 0;
        r = cache ? nv_pve_cache_read_vms(cache, ret_node, vendor, flags, ret, ret_n)
                  : nv_pve_read_vms(ret_node, vendor, ret, ret_n);
        return r == -ENOMEM ? r : 0;
}

int nv_inventory_read_libvirt(struct _virConnect *conn, NvVendor vendor, bool *ret_read, int *ret_error,
        NvVmConfig **ret, size_t *ret_n)
{
        *ret_read = false;
        *ret_error = 0;
        *ret = NULL;
        *ret_n = 0;
#if HAVE_LIBVIRT
        int r;

        if (!conn)
                return 0;
        r = nv_libvirt_read_vms(conn, vendor, ret, ret_n);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                *ret_error = r;
                return 0;
        }
        *ret_read = true;
#else
        (void) conn;
        (void) vendor;
#endif
        return 0;
}

int nv_inventory_build(
        const NvInventoryHost *host, const NvVmList *procs, struct _virConnect *conn, NvInventory *ret)
{
        NvPveNode node = {};
        NvVmConfig *pve = NULL, *libvirt = NULL;
        size_t n_pve = 0, n_libvirt = 0;
        NvInventoryParts parts = { .procs = procs, .pve = &node };
        int r;

        assert(host);
        assert(ret);

        r = nv_inventory_read_pve(NULL, host->vendor, NV_PVE_READ_PIDS, &node, &pve, &n_pve);
        if (r >= 0)
                r = nv_inventory_read_libvirt(
                        conn, host->vendor, &parts.libvirt, &parts.libvirt_error, &libvirt, &n_libvirt);
        if (r >= 0) {
                parts.pve_vms = pve;
                parts.n_pve_vms = n_pve;
                parts.libvirt_vms = libvirt;
                parts.n_libvirt_vms = n_libvirt;
                r = nv_inventory_assemble(host, &parts, ret);
        }
        configs_free(pve, n_pve);
        configs_free(libvirt, n_libvirt);
        nv_pve_node_done(&node);
        return r;
}

const NvVmEntry *nv_inventory_find(const NvInventory *inv, const char *label)
{
        NvVmEntry key = { .label = (char *) label };

        assert(inv);
        if (!label || inv->n_vms == 0)
                return NULL;
        return bsearch(&key, inv->vms, inv->n_vms, sizeof(NvVmEntry), entry_cmp);
}

char *nv_vm_entry_describe(const NvVmEntry *e)
{
        assert(e);
        if (!isempty(e->config.name))
                return text_new("%s (%s %s)", e->config.name, nv_vm_manager_to_string(e->manager),
                        strempty(e->config.id));
        return text_new("%s %s", nv_vm_manager_to_string(e->manager), strempty(e->config.id));
}

/* The entries for which match() is true, for messages: see nv_inventory_requiring_text(). */
static char *entries_text(const NvInventory *inv, bool (*match)(const NvVmEntry *e, NvStartBlock reason),
        NvStartBlock reason, size_t *ret_n)
{
        _cleanup_free_ char *s = NULL;
        size_t n = 0, k = 0, shown;

        assert(inv);
        errno = 0;
        for (size_t i = 0; i < inv->n_vms; i++)
                n += match(&inv->vms[i], reason);
        if (ret_n)
                *ret_n = n;
        if (n == 0)
                return NULL;

        shown = n > NV_VMS_NAMED_MAX ? NV_VMS_NAMED_MAX : n;
        for (size_t i = 0; i < inv->n_vms && k < shown; i++) {
                _cleanup_free_ char *d = NULL;

                if (!match(&inv->vms[i], reason))
                        continue;
                d = nv_vm_entry_describe(&inv->vms[i]);
                if (!d || text_append(&s, "%s%s", list_sep(k++, shown < n ? shown + 1 : shown), d) < 0) {
                        errno = ENOMEM;
                        return NULL;
                }
        }
        if (shown < n && text_append(&s, " and %zu more", n - shown) < 0) {
                errno = ENOMEM;
                return NULL;
        }
        return TAKE_PTR(s);
}

static bool entry_requires(const NvVmEntry *e, _unused_ NvStartBlock reason)
{
        return nv_vm_entry_requires_nesting(e);
}

char *nv_inventory_requiring_text(const NvInventory *inv, size_t *ret_n)
{
        return entries_text(inv, entry_requires, NV_START_OK, ret_n);
}

static bool entry_blocked_by(const NvVmEntry *e, NvStartBlock reason)
{
        return e->start_block == reason;
}

char *nv_inventory_blocked_text(const NvInventory *inv, NvStartBlock reason, size_t *ret_n)
{
        assert(reason != NV_START_OK);
        return entries_text(inv, entry_blocked_by, reason, ret_n);
}
