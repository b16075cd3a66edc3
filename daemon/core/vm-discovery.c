/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>

#include "host-path.h"
#include "util.h"
#include "vm-discovery.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir)

static const char *const nv_vm_manager_table[] = {
        [NV_VM_MANAGER_OTHER] = "other",
        [NV_VM_MANAGER_QEMU] = "qemu",
        [NV_VM_MANAGER_PROXMOX] = "proxmox",
        [NV_VM_MANAGER_LIBVIRT] = "libvirt",
        [NV_VM_MANAGER_FIRECRACKER] = "firecracker",
        [NV_VM_MANAGER_CROSVM] = "crosvm",
        [NV_VM_MANAGER_CLOUD_HYPERVISOR] = "cloud-hypervisor",
};

NV_DEFINE_STRING_TABLE_FALLBACK(nv_vm_manager, NvVmManager, NV_VM_MANAGER_OTHER)

static const char *const nv_vm_nesting_table[] = {
        [NV_VM_NESTING_UNKNOWN] = "unknown",
        [NV_VM_NESTING_EXPOSED] = "exposed",
        [NV_VM_NESTING_HIDDEN] = "hidden",
};

NV_DEFINE_STRING_TABLE_FALLBACK(nv_vm_nesting, NvVmNesting, NV_VM_NESTING_UNKNOWN)

static bool endswith(const char *s, const char *suffix)
{
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && streq(s + a - b, suffix);
}

/* ---- QEMU's -cpu string ---- */

typedef enum Tri {
        TRI_UNSET,
        TRI_ON,
        TRI_OFF,
} Tri;

/* One CPU flag as QEMU resolves it: "-flag" beats "+flag" beats "flag=value" whatever their
 * order (x86_cpu_parse_featurestr collects +/- apart and applies them after the properties). */
typedef struct CpuFlag {
        Tri value; /* the last "flag=on|off" or bare "flag" */
        bool plus, minus;
} CpuFlag;

static Tri cpu_flag_resolve(const CpuFlag *f)
{
        if (f->minus)
                return TRI_OFF;
        if (f->plus)
                return TRI_ON;
        return f->value;
}

/* QEMU's boolean property spellings; anything else makes QEMU refuse the option. */
static Tri parse_bool(const char *v)
{
        static const char *const on[] = { "on", "yes", "true", "y" };
        static const char *const off[] = { "off", "no", "false", "n" };

        for (size_t i = 0; i < ELEMENTSOF(on); i++)
                if (streq(v, on[i]))
                        return TRI_ON;
        for (size_t i = 0; i < ELEMENTSOF(off); i++)
                if (streq(v, off[i]))
                        return TRI_OFF;
        return TRI_UNSET;
}

static void cpu_flag_feed(CpuFlag *f, char op, const char *value)
{
        if (op == '+')
                f->plus = true;
        else if (op == '-')
                f->minus = true;
        else {
                Tri t = parse_bool(value);
                if (t != TRI_UNSET)
                        f->value = t;
        }
}

/* The model part of a -cpu value equals one of the models that pass the host CPU through. */
static bool cpu_model_is_passthrough(const char *cpu)
{
        size_t n = strcspn(cpu, ",");
        return (n == 4 && strncmp(cpu, "host", 4) == 0) || (n == 3 && strncmp(cpu, "max", 3) == 0);
}

NvVmNesting nv_vm_cpu_nesting(const char *cpu)
{
        CpuFlag vmx = {}, svm = {};
        Tri v, s;

        /* No -cpu: QEMU's default model, qemu64. Its definition has no vmx, and although it
         * lists svm, under KVM QEMU turns svm off for every named model (kvm_default_props
         * "svm=off"). Machine types 2.1 and older keep the model's svm; nv_vm_parse_cmdline()
         * sees the machine type and says unknown for those. */
        if (!cpu)
                return NV_VM_NESTING_HIDDEN;

        /* Features are split at plain commas: QEMU does not unescape ",," in -cpu. */
        for (const char *p = strchr(cpu, ','); p; p = strchr(p, ',')) {
                char feature[64], op = 0;
                const char *name, *value = "on", *eq;
                size_t n;

                p++;
                n = strcspn(p, ",");
                if (n == 0 || n >= sizeof(feature))
                        continue;
                memcpy(feature, p, n);
                feature[n] = 0;

                name = feature;
                if (feature[0] == '+' || feature[0] == '-')
                        op = *name++;
                else {
                        eq = strchr(feature, '=');
                        if (eq) {
                                feature[eq - feature] = 0;
                                value = eq + 1;
                        }
                }

                if (streq(name, "vmx"))
                        cpu_flag_feed(&vmx, op, value);
                else if (streq(name, "svm"))
                        cpu_flag_feed(&svm, op, value);
        }

        v = cpu_flag_resolve(&vmx);
        s = cpu_flag_resolve(&svm);

        /* "host" and "max" give the guest what the host's KVM offers: vmx on Intel, svm on AMD.
         * Without the vendor here, removing either flag counts as hiding: nobody writes "-vmx"
         * on an AMD host, so the flag removed is in practice the host's own. */
        if (cpu_model_is_passthrough(cpu))
                return v == TRI_OFF || s == TRI_OFF ? NV_VM_NESTING_HIDDEN : NV_VM_NESTING_EXPOSED;

        /* Named models carry neither flag under KVM: only an explicit request adds it. Proxmox
         * VE resolves its "nested-virt" flag into "+vmx"/"+svm" before QEMU sees it. */
        return v == TRI_ON || s == TRI_ON ? NV_VM_NESTING_EXPOSED : NV_VM_NESTING_HIDDEN;
}

/* ---- QEMU's option syntax ---- */

/* Copies one QemuOpts value starting at *p up to the next lone ',' (",," is a literal comma)
 * and moves *p past that comma. */
static char *opts_value(const char **p)
{
        const char *s = *p;
        char *v, *o;

        v = o = malloc(strlen(s) + 1);
        if (!v)
                return NULL;
        while (*s) {
                if (*s == ',') {
                        if (s[1] != ',') {
                                s++;
                                break;
                        }
                        s++;
                }
                *o++ = *s++;
        }
        *o = 0;
        *p = s;
        return v;
}

/* Finds key in a QemuOpts string such as "guest=NAME,debug-threads=on" or "NAME,debug-threads=on",
 * where a first element without '=' is the value of the key implied. The last occurrence wins,
 * as with QEMU. Returns 1 and the unescaped value (NULL when empty), 0 when absent, or -ENOMEM;
 * ret_implied tells whether the value came without its key. */
static int opts_get(const char *s, const char *implied, const char *key, char **ret, bool *ret_implied)
{
        _cleanup_free_ char *found = NULL;
        bool found_implied = false, first = true, any = false;
        size_t key_len = strlen(key);

        for (const char *p = s; *p; first = false) {
                size_t n = strcspn(p, "=,");
                bool is_implied = false, match;

                if (p[n] != '=') {
                        if (!first || !implied) {
                                /* A bare flag ("debug-threads", "nofoo"): no value to take. */
                                p += n;
                                if (*p == ',')
                                        p++;
                                continue;
                        }
                        is_implied = true;
                        match = streq(implied, key);
                } else {
                        match = n == key_len && strncmp(p, key, n) == 0;
                        p += n + 1;
                }

                char *v = opts_value(&p);
                if (!v)
                        return -ENOMEM;
                if (!match) {
                        free(v);
                        continue;
                }
                free(found);
                found = v;
                found_implied = is_implied;
                any = true;
        }

        if (!any)
                return 0;
        if (found && !*found) {
                free(found);
                found = NULL;
        }
        if (ret_implied)
                *ret_implied = found_implied;
        *ret = TAKE_PTR(found);
        return 1;
}

/* Machine types 2.1 and older keep a named CPU model's own svm under KVM (pc_compat_2_1). */
static bool machine_keeps_model_svm(const char *type)
{
        static const char *const prefixes[] = { "pc-i440fx-", "pc-q35-", "pc-" };
        const char *v = NULL;
        unsigned major, minor;

        for (size_t i = 0; !v && i < ELEMENTSOF(prefixes); i++)
                v = startswith(type, prefixes[i]);
        if (!v || sscanf(v, "%u.%u", &major, &minor) != 2)
                return false;
        return major < 2 || (major == 2 && minor < 2);
}

/* "-opt" or "--opt" (QEMU treats both alike) gives "opt"; anything else NULL. */
static const char *qemu_option(const char *arg)
{
        if (arg[0] != '-')
                return NULL;
        arg++;
        if (arg[0] == '-')
                arg++;
        return *arg ? arg : NULL;
}

static NvVmManager manager_from_argv0(const char *argv0)
{
        const char *base = strrchr(argv0, '/');

        base = base ? base + 1 : argv0;
        /* "kvm" is Proxmox VE's and Debian's wrapper name, "qemu-kvm" RHEL's. */
        if (streq(base, "kvm") || streq(base, "qemu-kvm") || startswith(base, "qemu-system-"))
                return NV_VM_MANAGER_QEMU;
        if (streq(base, "firecracker"))
                return NV_VM_MANAGER_FIRECRACKER;
        if (streq(base, "crosvm"))
                return NV_VM_MANAGER_CROSVM;
        if (streq(base, "cloud-hypervisor"))
                return NV_VM_MANAGER_CLOUD_HYPERVISOR;
        return NV_VM_MANAGER_OTHER;
}

/* What the scan needs beyond NvVm to tell who manages a QEMU process. */
typedef struct QemuArgs {
        char *pidfile; /* -pidfile */
        bool name_implied; /* -name NAME,... rather than -name guest=NAME,... */
} QemuArgs;

static void qemu_args_done(QemuArgs *a)
{
        free(a->pidfile);
        a->pidfile = NULL;
}

static int replace_str(char **p, const char *v)
{
        char *c = NULL;

        if (!isempty(v)) {
                c = strdup(v);
                if (!c)
                        return -ENOMEM;
        }
        free(*p);
        *p = c;
        return 0;
}

static int parse_cmdline(const char *cmdline, size_t len, NvVm *vm, QemuArgs *ret_args)
{
        _cleanup_free_ char *buf = NULL, *name = NULL, *id = NULL, *cpu = NULL, *pidfile = NULL,
                            *machine = NULL;
        NvVmManager manager = NV_VM_MANAGER_OTHER;
        NvVmNesting nesting = NV_VM_NESTING_UNKNOWN;
        bool name_implied = false;
        const char *end;
        int r;

        /* A copy with a final NUL: the last argument may lack its own (a truncated read). */
        buf = malloc(len + 1);
        if (!buf)
                return -ENOMEM;
        if (len > 0)
                memcpy(buf, cmdline, len);
        buf[len] = 0;
        end = buf + len;

        /* An empty command line is a kernel thread's or a zombie's. */
        if (len > 0)
                manager = manager_from_argv0(buf);

        /* Only the options read here are known to take a value: a value of another option that
         * is exactly "-cpu" (say, "-append -cpu") would be misread. Such values are rare. */
        for (const char *p = buf + strlen(buf) + 1; manager == NV_VM_MANAGER_QEMU && p < end;) {
                const char *opt = qemu_option(p), *value;
                char *v = NULL;

                p += strlen(p) + 1;
                if (!opt)
                        continue;
                if (!streq(opt, "name") && !streq(opt, "id") && !streq(opt, "cpu") &&
                        !streq(opt, "pidfile") && !streq(opt, "machine") && !streq(opt, "M"))
                        continue;
                /* QEMU refuses to start with the value missing; nothing to take. */
                if (p >= end)
                        break;
                value = p;
                p += strlen(p) + 1;

                if (streq(opt, "name")) {
                        bool implied = false;
                        /* Several -name options merge: a later guest= replaces an earlier one. */
                        r = opts_get(value, "guest", "guest", &v, &implied);
                        if (r < 0)
                                return r;
                        if (r > 0) {
                                free(name);
                                name = v;
                                name_implied = implied;
                        }
                } else if (streq(opt, "machine") || streq(opt, "M")) {
                        r = opts_get(value, "type", "type", &v, NULL);
                        if (r < 0)
                                return r;
                        if (r > 0 && v) {
                                free(machine);
                                machine = v;
                        } else
                                free(v);
                } else {
                        char **slot = streq(opt, "id") ? &id : streq(opt, "cpu") ? &cpu : &pidfile;
                        r = replace_str(slot, value);
                        if (r < 0)
                                return r;
                }
        }

        if (manager == NV_VM_MANAGER_QEMU) {
                nesting = nv_vm_cpu_nesting(cpu);
                if (nesting == NV_VM_NESTING_HIDDEN && (!cpu || !cpu_model_is_passthrough(cpu)) && machine &&
                        machine_keeps_model_svm(machine))
                        nesting = NV_VM_NESTING_UNKNOWN;
        }

        free(vm->name);
        free(vm->vm_id);
        free(vm->cpu);
        vm->name = TAKE_PTR(name);
        vm->vm_id = TAKE_PTR(id);
        vm->cpu = TAKE_PTR(cpu);
        vm->manager = manager;
        vm->nesting = nesting;
        if (ret_args) {
                free(ret_args->pidfile);
                ret_args->pidfile = TAKE_PTR(pidfile);
                ret_args->name_implied = name_implied;
        }
        return 0;
}

int nv_vm_parse_cmdline(const char *cmdline, size_t len, NvVm *vm)
{
        return parse_cmdline(cmdline, len, vm, NULL);
}

/* ---- the scan ---- */

static void vm_done(NvVm *vm)
{
        free(vm->comm);
        free(vm->name);
        free(vm->vm_id);
        free(vm->cpu);
        *vm = (NvVm){};
}

void nv_vm_list_done(NvVmList *l)
{
        for (size_t i = 0; i < l->n_vms; i++)
                vm_done(l->vms + i);
        free(l->vms);
        *l = (NvVmList){};
}

static bool link_is_kvm(const char *target, const char *device)
{
        const char *rest;

        /* Every VM, vCPU and in-kernel device fd holds its VM, and the VM the module:
         * "anon_inode:kvm-vm", "anon_inode:kvm-vcpu:0", "anon_inode:kvm-vfio", "anon_inode:[kvm-gmem]". */
        if (startswith(target, "anon_inode:kvm-") || startswith(target, "anon_inode:[kvm-"))
                return true;

        /* The node may have been removed while the fd stays open. */
        rest = startswith(target, device);
        if (rest && (!*rest || streq(rest, " (deleted)")))
                return true;

        /* A jailed VMM (firecracker's jailer, a container) opened a node of its own; the link
         * shows its path from our root. */
        return endswith(target, "/dev/kvm") || endswith(target, "/dev/kvm (deleted)");
}

/* Whether the process (a directory name below proc_fd) has a KVM fd: 1 or 0, or a negative errno
 * when its fds cannot be read (-ENOENT or -ESRCH: it is gone). Stops at the first KVM fd. */
static int pid_holds_kvm(int proc_fd, const char *pid, const char *device)
{
        _cleanup_(closedirp) DIR *d = NULL;
        char path[NAME_MAX + sizeof("/fd")];
        int fd, r = 0;

        if (snprintf(path, sizeof(path), "%s/fd", pid) >= (int) sizeof(path))
                return -ENAMETOOLONG;
        fd = openat(proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                r = -errno;
                close(fd);
                return r;
        }

        for (;;) {
                char target[PATH_MAX];
                struct dirent *de;
                ssize_t n;

                errno = 0;
                de = readdir(d);
                if (!de)
                        return errno > 0 ? -errno : r;
                if (de->d_name[0] == '.')
                        continue;

                n = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
                if (n < 0) {
                        /* That fd was closed meanwhile. */
                        if (errno == ENOENT)
                                continue;
                        /* The access check is per process: the other fds fail alike. */
                        if (errno == EACCES || errno == EPERM)
                                return -errno;
                        /* Remember, but a later fd may still show KVM. */
                        r = -errno;
                        continue;
                }
                target[n] = 0;
                if (link_is_kvm(target, device))
                        return 1;
        }
}

static bool parse_pid(const char *s, pid_t *ret)
{
        unsigned long v;

        if (!*s || s[strspn(s, "0123456789")] != 0)
                return false;
        errno = 0;
        v = strtoul(s, NULL, 10);
        if (errno != 0 || v == 0 || v > INT_MAX)
                return false;
        *ret = (pid_t) v;
        return true;
}

static bool vanished(int r)
{
        return r == -ENOENT || r == -ESRCH;
}

int nv_proc_status_uid(const char *status, uid_t *ret)
{
        for (const char *line = status; line; line = strchr(line, '\n')) {
                const char *v;
                unsigned long u;
                char *e;

                if (*line == '\n')
                        line++;
                v = startswith(line, "Uid:");
                if (!v)
                        continue;
                /* strtoul() would take a sign ("-4294967295" is 1): only digits after the blanks. */
                v += strspn(v, " \t");
                if (*v < '0' || *v > '9')
                        return -EBADMSG;
                errno = 0;
                u = strtoul(v, &e, 10);
                if (errno != 0 || e == v || u >= (uid_t) -1)
                        return -EBADMSG;
                *ret = (uid_t) u;
                return 0;
        }
        return -EBADMSG;
}

static int read_uid(pid_t pid, uid_t *ret)
{
        _cleanup_free_ char *status = NULL;
        char path[64];
        int r;

        snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        r = nv_host_read_file(path, &status, NULL);
        if (r < 0)
                return r;
        return nv_proc_status_uid(status, ret);
}

/* 1 when the pid file holds pid, 0 when it holds something else, or a negative errno. */
static int pidfile_check(const char *host_path, pid_t pid)
{
        _cleanup_free_ char *line = NULL;
        pid_t p;
        int r;

        r = nv_host_read_line(host_path, &line);
        if (r < 0)
                return r;
        return parse_pid(line + strspn(line, " \t"), &p) && p == pid;
}

/* Upgrades a QEMU process to the manager whose pid file names it; the VM id stays only for
 * Proxmox VE, where it means something. */
static int vm_classify(NvVm *vm, const QemuArgs *args)
{
        static const char *const libvirt_dirs[] = { "/run/libvirt/qemu", "/var/run/libvirt/qemu" };
        bool contradicted = false;
        int r;

        /* A '/' would lead the pid file path out of its directory. */
        if (vm->manager == NV_VM_MANAGER_QEMU && vm->vm_id && !strchr(vm->vm_id, '/')) {
                _cleanup_free_ char *path = NULL;

                if (asprintf(&path, "/var/run/qemu-server/%s.pid", vm->vm_id) < 0)
                        return -ENOMEM;
                r = pidfile_check(path, vm->pid);
                if (r == -ENOMEM)
                        return r;
                if (r > 0) {
                        vm->manager = NV_VM_MANAGER_PROXMOX;
                        return 0;
                }
        }
        free(vm->vm_id);
        vm->vm_id = NULL;

        /* libvirt always writes "guest=NAME". */
        if (vm->manager != NV_VM_MANAGER_QEMU || !vm->name || args->name_implied || strchr(vm->name, '/'))
                return 0;

        for (size_t i = 0; i < ELEMENTSOF(libvirt_dirs); i++) {
                _cleanup_free_ char *path = NULL;

                if (asprintf(&path, "%s/%s.pid", libvirt_dirs[i], vm->name) < 0)
                        return -ENOMEM;
                r = pidfile_check(path, vm->pid);
                if (r == -ENOMEM)
                        return r;
                if (r > 0) {
                        vm->manager = NV_VM_MANAGER_LIBVIRT;
                        return 0;
                }
                if (r == 0)
                        contradicted = true;
        }

        /* QEMU started with "-pidfile" naming libvirt's file wrote it itself; believe the option
         * unless the file exists and names another process. */
        for (size_t i = 0; !contradicted && args->pidfile && i < ELEMENTSOF(libvirt_dirs); i++) {
                const char *rest = startswith(args->pidfile, libvirt_dirs[i]);

                if (rest && rest[0] == '/' && startswith(rest + 1, vm->name) &&
                        streq(rest + 1 + strlen(vm->name), ".pid")) {
                        vm->manager = NV_VM_MANAGER_LIBVIRT;
                        return 0;
                }
        }
        return 0;
}

int nv_vm_identify(const char *cmdline, size_t len, NvVm *vm)
{
        _cleanup_(qemu_args_done) QemuArgs args = {};
        int r;

        r = parse_cmdline(cmdline, len, vm, &args);
        if (r < 0)
                return r;
        return vm_classify(vm, &args);
}

/* Reads what a KVM holder's /proc files say. -ENOENT or -ESRCH: it is gone. */
static int vm_load(pid_t pid, NvVm *ret)
{
        _cleanup_(vm_done) NvVm vm = { .pid = pid, .uid = (uid_t) -1 };
        _cleanup_free_ char *cmdline = NULL;
        size_t size = 0;
        char path[64];
        int r;

        snprintf(path, sizeof(path), "/proc/%d/comm", (int) pid);
        r = nv_host_read_line(path, &vm.comm);
        if (vanished(r) || r == -ENOMEM)
                return r;

        r = read_uid(pid, &vm.uid);
        if (vanished(r) || r == -ENOMEM)
                return r;

        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int) pid);
        r = nv_host_read_file(path, &cmdline, &size);
        if (vanished(r) || r == -ENOMEM)
                return r;
        if (r < 0)
                size = 0;

        r = nv_vm_identify(cmdline ?: "", size, &vm);
        if (r < 0)
                return r;

        *ret = vm;
        vm = (NvVm){};
        return 0;
}

static int vm_cmp(const void *a, const void *b)
{
        pid_t x = ((const NvVm *) a)->pid, y = ((const NvVm *) b)->pid;
        return (x > y) - (x < y);
}

const char *nv_kvm_device(void)
{
        const char *e = secure_getenv("NESTVIRT_KVM_DEVICE");
        return isempty(e) ? "/dev/kvm" : e;
}

int nv_vm_list_scan(NvVmList *ret)
{
        _cleanup_(nv_vm_list_done) NvVmList l = {};
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_free_ char *proc = NULL;
        const char *device = nv_kvm_device();
        size_t allocated = 0;
        int r;

        proc = nv_host_path("/proc");
        if (!proc)
                return -errno;
        d = opendir(proc);
        if (!d)
                return -errno;

        for (;;) {
                struct dirent *de;
                pid_t pid;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno > 0)
                                return -errno;
                        break;
                }
                if (!parse_pid(de->d_name, &pid))
                        continue;

                r = pid_holds_kvm(dirfd(d), de->d_name, device);
                if (vanished(r) || r == 0)
                        continue;
                if (r < 0) {
                        /* Not ours to read (EACCES, EPERM) or not a directory: it may hold KVM. */
                        l.n_uninspected++;
                        continue;
                }

                if (l.n_vms == allocated) {
                        size_t n = allocated ? allocated * 2 : 8;
                        NvVm *m = reallocarray(l.vms, n, sizeof(NvVm));
                        if (!m)
                                return -ENOMEM;
                        l.vms = m;
                        allocated = n;
                }
                r = vm_load(pid, l.vms + l.n_vms);
                if (vanished(r))
                        continue;
                if (r < 0)
                        return r;
                l.n_vms++;
        }

        if (l.n_vms > 0)
                qsort(l.vms, l.n_vms, sizeof(NvVm), vm_cmp);
        *ret = l;
        l = (NvVmList){};
        return 0;
}
