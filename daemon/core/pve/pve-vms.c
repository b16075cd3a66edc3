/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>

#include "host-path.h"
#include "pve-config.h"
#include "pve-models.h"
#include "pve-nesting.h"
#include "pve-node.h"
#include "pve-vms.h"
#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir)

/* Larger configs are no VM config qemu-server writes. */
#define CONF_MAX_SIZE (4u * 1024u * 1024u)

/* qemu-server's boolean spellings (check_type); -1 for anything else. */
static int parse_boolean(const char *v)
{
        static const char *const on[] = { "1", "on", "yes", "true" };
        static const char *const off[] = { "0", "off", "no", "false" };

        for (size_t i = 0; i < ELEMENTSOF(on); i++)
                if (strcasecmp(v, on[i]) == 0)
                        return 1;
        for (size_t i = 0; i < ELEMENTSOF(off); i++)
                if (strcasecmp(v, off[i]) == 0)
                        return 0;
        return -1;
}

/* "kvm:" defaults to on for a guest of the host's architecture; an invalid value is skipped by
 * qemu-server, which leaves the default. */
static bool kvm_enabled(const char *v)
{
        return !v || parse_boolean(v) != 0;
}

/* "arch:" defaults to the host's, x86_64 here. */
static bool arch_x86(const char *v)
{
        return !v || streq(v, "x86_64");
}

static int dup_or_null(const char *s, char **ret)
{
        *ret = NULL;
        if (!s)
                return 0;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

/* The pid the pid file names when that process is this VM's QEMU ("-id VMID"), else 0. */
static int running_pid(const char *vmid, pid_t *ret)
{
        _cleanup_free_ char *path = NULL, *line = NULL, *cmdline = NULL;
        NvVm vm = {};
        size_t size = 0;
        unsigned long v;
        char *end;
        int r;

        *ret = 0;
        if (asprintf(&path, NV_PVE_PID_DIR "/%s.pid", vmid) < 0)
                return -ENOMEM;
        r = nv_host_read_line(path, &line);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0;
        errno = 0;
        v = strtoul(line, &end, 10);
        if (errno != 0 || end == line || *end || v == 0 || v > INT_MAX)
                return 0;

        free(path);
        if (asprintf(&path, "/proc/%lu/cmdline", v) < 0)
                return -ENOMEM;
        r = nv_host_read_file(path, &cmdline, &size);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0;

        r = nv_vm_parse_cmdline(cmdline, size, &vm);
        if (r >= 0 && streq_ptr(vm.vm_id, vmid))
                *ret = (pid_t) v;
        free(vm.name);
        free(vm.vm_id);
        free(vm.cpu);
        free(vm.comm);
        return r < 0 ? r : 0;
}

static bool conf_pending_nesting(const NvPveConf *conf)
{
        static const char *const keys[] = { "cpu", "args", "arch", "kvm" };

        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (nv_pve_conf_pending_changes(conf, keys[i]))
                        return true;
        return false;
}

static int vm_fill(const NvPveConf *conf, const char *vmid, const NvPveHost *host, NvVmConfig *ret)
{
        _cleanup_(nv_vm_config_done) NvVmConfig c = {};
        const char *cpu = nv_pve_conf_get_next(conf, "cpu");
        NvPveGuest guest = {
                .cpu = cpu,
                .args = nv_pve_conf_get_next(conf, "args"),
                .kvm = kvm_enabled(nv_pve_conf_get_next(conf, "kvm")),
                .x86 = arch_x86(nv_pve_conf_get_next(conf, "arch")),
        };
        NvPveNesting n;
        int r;

        r = nv_pve_nesting_eval(&guest, host, &n);
        if (r < 0)
                return r;

        c.id = strdup(vmid);
        if (!c.id)
                return -ENOMEM;
        if (dup_or_null(nv_pve_conf_get_next(conf, "name"), &c.name) < 0 || dup_or_null(cpu, &c.cpu) < 0 ||
                dup_or_null(nv_pve_conf_get(conf, "lock"), &c.lock) < 0)
                return -ENOMEM;
        /* The running VM's setting; "kvm64" is what an unset cpu means. */
        if (nv_pve_conf_pending_changes(conf, "cpu") &&
                dup_or_null(nv_pve_conf_get(conf, "cpu") ?: "kvm64", &c.cpu_now) < 0)
                return -ENOMEM;

        c.next = n.next;
        c.next_by = n.by;
        c.kvm = guest.kvm;
        c.x86 = guest.x86;
        c.requires = n.requires;
        c.pending_change = conf_pending_nesting(conf);

        r = running_pid(vmid, &c.pid);
        if (r < 0)
                return r;
        c.running = c.pid > 0;

        *ret = c;
        c = (NvVmConfig){};
        return 0;
}

static int vm_read(const char *vmid, const NvPveHost *host, NvVmConfig *ret)
{
        _cleanup_(nv_pve_conf_done) NvPveConf conf = {};
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t size = 0;
        int r;

        if (asprintf(&path, NV_PVE_CONFIG_DIR "/%s.conf", vmid) < 0)
                return -ENOMEM;
        r = nv_host_read_file(path, &text, &size);
        if (r < 0)
                return r;
        if (size > CONF_MAX_SIZE)
                return -EFBIG;
        r = nv_pve_conf_parse(text, size, &conf);
        if (r < 0)
                return r;
        return vm_fill(&conf, vmid, host, ret);
}

static void host_init(const NvPveNode *node, NvVendor vendor, const NvPveModels *models, NvPveHost *ret)
{
        /* An unknown qemu-server version: believe a config that uses nested-virt. */
        *ret = (NvPveHost){
                .vendor = vendor,
                .nested_virt = node->nested_virt || !node->qemu_server_version,
                .models = models,
        };
}

int nv_pve_read_vm(const NvPveNode *node, NvVendor vendor, const char *vmid, NvVmConfig *ret)
{
        _cleanup_(nv_pve_models_done) NvPveModels models = {};
        NvPveHost host;
        int r;

        assert(node);
        assert(ret);

        if (!nv_pve_vmid_valid(vmid))
                return -EINVAL;
        if (!node->present)
                return -ENOENT;
        r = nv_pve_models_read(&models);
        if (r == -ENOMEM)
                return r;
        host_init(node, vendor, &models, &host);
        return vm_read(vmid, &host, ret);
}

/* "VMID.conf" with a valid VMID gives the VMID's length, else 0. */
static size_t conf_name_vmid(const char *name)
{
        const char *dot = strrchr(name, '.');
        char vmid[16];
        size_t n;

        if (!dot || !streq(dot, ".conf"))
                return 0;
        n = (size_t) (dot - name);
        if (n == 0 || n >= sizeof(vmid))
                return 0;
        memcpy(vmid, name, n);
        vmid[n] = 0;
        return nv_pve_vmid_valid(vmid) ? n : 0;
}

static int config_cmp(const void *a, const void *b)
{
        unsigned long x = strtoul(((const NvVmConfig *) a)->id, NULL, 10);
        unsigned long y = strtoul(((const NvVmConfig *) b)->id, NULL, 10);
        return (x > y) - (x < y);
}

static void configs_free(NvVmConfig *l, size_t n)
{
        for (size_t i = 0; i < n; i++)
                nv_vm_config_done(l + i);
        free(l);
}

int nv_pve_read_vms(const NvPveNode *node, NvVendor vendor, NvVmConfig **ret, size_t *ret_n)
{
        _cleanup_(nv_pve_models_done) NvPveModels models = {};
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_free_ char *dir = NULL;
        NvVmConfig *l = NULL;
        size_t n = 0;
        NvPveHost host;
        int r = 0;

        assert(node);
        assert(ret);
        assert(ret_n);

        *ret = NULL;
        *ret_n = 0;
        if (!node->present)
                return 0;

        dir = nv_host_path(NV_PVE_CONFIG_DIR);
        if (!dir)
                return -ENOMEM;
        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;

        r = nv_pve_models_read(&models);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                fprintf(stderr, "Could not read %s, custom CPU models unknown: %s\n", NV_PVE_CPU_MODELS_FILE,
                        strerror(-r));
        host_init(node, vendor, &models, &host);

        for (;;) {
                struct dirent *de;
                char vmid[16];
                size_t k;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        r = errno > 0 ? -errno : 0;
                        break;
                }
                k = conf_name_vmid(de->d_name);
                if (k == 0)
                        continue;
                memcpy(vmid, de->d_name, k);
                vmid[k] = 0;

                NvVmConfig *m = realloc(l, (n + 1) * sizeof(*m));
                if (!m) {
                        r = -ENOMEM;
                        break;
                }
                l = m;
                r = vm_read(vmid, &host, l + n);
                if (r == -ENOMEM)
                        break;
                if (r < 0) {
                        /* Removed meanwhile: nothing to say. */
                        if (r != -ENOENT)
                                fprintf(stderr, "Skipping %s/%s: %s\n", NV_PVE_CONFIG_DIR, de->d_name,
                                        strerror(-r));
                        r = 0;
                        continue;
                }
                n++;
        }
        if (r < 0) {
                configs_free(l, n);
                return r;
        }

        if (n > 0)
                qsort(l, n, sizeof(*l), config_cmp);
        *ret = l;
        *ret_n = n;
        return 0;
}
