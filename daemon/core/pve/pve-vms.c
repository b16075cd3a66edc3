/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>
#include <time.h>

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

/* The config's meaning for this host, with the running process pid (0: not running). */
static int vm_fill(
        const NvPveConf *conf, const char *vmid, const NvPveHost *host, pid_t pid, NvVmConfig *ret)
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
        c.pid = pid;
        c.running = pid > 0;

        *ret = c;
        c = (NvVmConfig){};
        return 0;
}

static int conf_read(const char *vmid, NvPveConf *ret)
{
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
        return nv_pve_conf_parse(text, size, ret);
}

static int vm_read(const char *vmid, const NvPveHost *host, NvVmConfig *ret)
{
        _cleanup_(nv_pve_conf_done) NvPveConf conf = {};
        pid_t pid;
        int r;

        r = conf_read(vmid, &conf);
        if (r < 0)
                return r;
        r = running_pid(vmid, &pid);
        if (r < 0)
                return r;
        return vm_fill(&conf, vmid, host, pid, ret);
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

static void configs_free(NvVmConfig *l, size_t n)
{
        for (size_t i = 0; i < n; i++)
                nv_vm_config_done(l + i);
        free(l);
}

/*
 * The cache of parsed configs. A file is parsed again only when its identity or its times differ
 * from those it had when it was read: (device, inode, size, mtime, ctime), all in nanoseconds. A
 * write within the timestamp granularity of the file system after the read can leave all of them
 * unchanged (the kernel's file times are coarse, pmxcfs keeps seconds): a file whose mtime or
 * ctime is not older than NV_PVE_RACY_NSEC before the read started is "racy" and read again at
 * the next round, as git treats racily clean index entries.
 */
#define NV_PVE_RACY_NSEC (2ull * 1000000000ull)

typedef struct CacheEntry {
        unsigned long vmid_num; /* the sort key */
        char vmid[16];
        dev_t dev;
        ino_t ino;
        off_t size;
        int64_t mtime_ns, ctime_ns;
        bool racy; /* read again next time, whatever stat says */
        bool have_conf; /* false: the last read failed (the file is skipped) */
        NvPveConf conf;
        pid_t pid; /* of the running process, as the pid file and /proc said when last checked */
} CacheEntry;

struct NvPveCache {
        CacheEntry *entries; /* sorted by VMID */
        size_t n_entries;
        size_t n_parsed; /* files parsed since the cache was made */
};

NvPveCache *nv_pve_cache_new(void)
{
        return calloc(1, sizeof(NvPveCache));
}

static void entries_free(CacheEntry *l, size_t n)
{
        for (size_t i = 0; i < n; i++)
                nv_pve_conf_done(&l[i].conf);
        free(l);
}

NvPveCache *nv_pve_cache_free(NvPveCache *c)
{
        if (!c)
                return NULL;
        entries_free(c->entries, c->n_entries);
        free(c);
        return NULL;
}

size_t nv_pve_cache_parsed(const NvPveCache *c)
{
        return c ? c->n_parsed : 0;
}

static int64_t timespec_ns(const struct timespec *ts)
{
        return (int64_t) ts->tv_sec * 1000000000 + ts->tv_nsec;
}

static int entry_cmp(const void *a, const void *b)
{
        unsigned long x = ((const CacheEntry *) a)->vmid_num, y = ((const CacheEntry *) b)->vmid_num;
        return (x > y) - (x < y);
}

/* The VMIDs of the files in d, as fresh entries without a config, sorted. */
static int list_dir(DIR *d, CacheEntry **ret, size_t *ret_n)
{
        CacheEntry *l = NULL;
        size_t n = 0, allocated = 0;

        for (;;) {
                struct dirent *de;
                size_t k;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno > 0) {
                                int r = -errno;
                                free(l);
                                return r;
                        }
                        break;
                }
                k = conf_name_vmid(de->d_name);
                if (k == 0)
                        continue;
                if (n == allocated) {
                        size_t a = allocated ? allocated * 2 : 64;
                        CacheEntry *m = reallocarray(l, a, sizeof(CacheEntry));
                        if (!m) {
                                free(l);
                                return -ENOMEM;
                        }
                        l = m;
                        allocated = a;
                }
                l[n] = (CacheEntry){};
                memcpy(l[n].vmid, de->d_name, k);
                l[n].vmid[k] = 0;
                l[n].vmid_num = strtoul(l[n].vmid, NULL, 10);
                n++;
        }
        if (n > 0)
                qsort(l, n, sizeof(CacheEntry), entry_cmp);
        *ret = l;
        *ret_n = n;
        return 0;
}

/* Fills e (which has its VMID) from the file, or from old when the file did not change since. */
static int entry_update(
        NvPveCache *c, int dir_fd, int64_t start_ns, CacheEntry *old, bool check_pid, CacheEntry *e)
{
        char name[32];
        struct stat st;
        int r;

        snprintf(name, sizeof(name), "%s.conf", e->vmid);
        if (fstatat(dir_fd, name, &st, 0) < 0)
                r = -errno;
        else
                r = S_ISREG(st.st_mode) ? 0 : -EISDIR;
        if (r < 0) {
                if (r != -ENOENT)
                        fprintf(stderr, "Skipping %s/%s: %s\n", NV_PVE_CONFIG_DIR, name, strerror(-r));
                return r;
        }
        e->dev = st.st_dev;
        e->ino = st.st_ino;
        e->size = st.st_size;
        e->mtime_ns = timespec_ns(&st.st_mtim);
        e->ctime_ns = timespec_ns(&st.st_ctim);
        e->racy = e->mtime_ns >= start_ns - (int64_t) NV_PVE_RACY_NSEC ||
                e->ctime_ns >= start_ns - (int64_t) NV_PVE_RACY_NSEC;

        if (old && !old->racy && old->dev == e->dev && old->ino == e->ino && old->size == e->size &&
                old->mtime_ns == e->mtime_ns && old->ctime_ns == e->ctime_ns) {
                e->have_conf = old->have_conf;
                e->conf = old->conf;
                old->conf = (NvPveConf){};
        } else {
                c->n_parsed++;
                r = conf_read(e->vmid, &e->conf);
                if (r == -ENOMEM)
                        return r;
                e->have_conf = r >= 0;
                if (r < 0) {
                        e->conf = (NvPveConf){};
                        /* Removed meanwhile: nothing to say. */
                        if (r != -ENOENT)
                                fprintf(stderr, "Skipping %s/%s: %s\n", NV_PVE_CONFIG_DIR, name,
                                        strerror(-r));
                }
        }

        if (old && !check_pid)
                e->pid = old->pid;
        else {
                r = running_pid(e->vmid, &e->pid);
                if (r < 0)
                        return r;
        }
        return 0;
}

int nv_pve_cache_read_vms(NvPveCache *c, const NvPveNode *node, NvVendor vendor, unsigned flags,
        NvVmConfig **ret, size_t *ret_n)
{
        _cleanup_(nv_pve_models_done) NvPveModels models = {};
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_free_ char *dir = NULL;
        CacheEntry *l = NULL;
        NvVmConfig *configs = NULL;
        size_t n = 0, n_configs = 0, j = 0;
        struct timespec now;
        NvPveHost host;
        int r;

        assert(c);
        assert(node);
        assert(ret);
        assert(ret_n);

        *ret = NULL;
        *ret_n = 0;
        if (!node->present) {
                entries_free(TAKE_PTR(c->entries), c->n_entries);
                c->n_entries = 0;
                return 0;
        }

        dir = nv_host_path(NV_PVE_CONFIG_DIR);
        if (!dir)
                return -ENOMEM;
        d = opendir(dir);
        if (!d) {
                if (errno != ENOENT)
                        return -errno;
                entries_free(TAKE_PTR(c->entries), c->n_entries);
                c->n_entries = 0;
                return 0;
        }

        r = nv_pve_models_read(&models);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                fprintf(stderr, "Could not read %s, custom CPU models unknown: %s\n", NV_PVE_CPU_MODELS_FILE,
                        strerror(-r));
        host_init(node, vendor, &models, &host);

        (void) clock_gettime(CLOCK_REALTIME, &now);
        r = list_dir(d, &l, &n);
        if (r < 0)
                return r;

        configs = calloc(n + 1, sizeof(NvVmConfig));
        if (!configs) {
                free(l);
                return -ENOMEM;
        }

        /* Both lists are sorted by VMID: one walk pairs each file with what the cache has of it. */
        for (size_t i = 0; i < n; i++) {
                CacheEntry *old = NULL;

                while (j < c->n_entries && c->entries[j].vmid_num < l[i].vmid_num)
                        j++;
                if (j < c->n_entries && streq(c->entries[j].vmid, l[i].vmid))
                        old = &c->entries[j];
                r = entry_update(c, dirfd(d), timespec_ns(&now), old, flags & NV_PVE_READ_PIDS, &l[i]);
                if (r == -ENOMEM)
                        break;
                if (r < 0) {
                        /* Gone or no regular file: skipped, and not cached. */
                        l[i].have_conf = false;
                        l[i].racy = true;
                        r = 0;
                        continue;
                }
                if (!l[i].have_conf)
                        continue;
                r = vm_fill(&l[i].conf, l[i].vmid, &host, l[i].pid, &configs[n_configs]);
                if (r == -ENOMEM)
                        break;
                if (r < 0) {
                        fprintf(stderr, "Skipping %s/%s.conf: %s\n", NV_PVE_CONFIG_DIR, l[i].vmid,
                                strerror(-r));
                        r = 0;
                        continue;
                }
                n_configs++;
        }

        /* What was cached and is not in the directory any more goes now. */
        entries_free(c->entries, c->n_entries);
        c->entries = l;
        c->n_entries = n;
        if (r < 0) {
                configs_free(configs, n_configs);
                return r;
        }
        *ret = configs;
        *ret_n = n_configs;
        return 0;
}

int nv_pve_read_vms(const NvPveNode *node, NvVendor vendor, NvVmConfig **ret, size_t *ret_n)
{
        _cleanup_(nv_pve_cache_freep) NvPveCache *c = nv_pve_cache_new();

        if (!c)
                return -ENOMEM;
        return nv_pve_cache_read_vms(c, node, vendor, NV_PVE_READ_PIDS, ret, ret_n);
}
