/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <ctype.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "host-path.h"
#include "pve-node.h"
#include "pve-vms.h"
#include "util.h"

#define NV_DPKG_STATUS "/var/lib/dpkg/status"
#define NV_PVE_LOCAL   "/etc/pve/local"

/* ---- Debian versions ---- */

/* dpkg's order of a character in the non-digit parts: '~' first, then the end of the part,
 * then letters, then everything else. */
static int order(char c)
{
        if (c == '~')
                return -1;
        if (isdigit((unsigned char) c))
                return 0;
        if (!c)
                return 0;
        if (isalpha((unsigned char) c))
                return (unsigned char) c;
        return (unsigned char) c + 256;
}

/* dpkg's verrevcmp() over [a, a_end) and [b, b_end). */
static int verrevcmp(const char *a, const char *a_end, const char *b, const char *b_end)
{
        while (a < a_end || b < b_end) {
                int first_diff = 0;

                while ((a < a_end && !isdigit((unsigned char) *a)) ||
                        (b < b_end && !isdigit((unsigned char) *b))) {
                        int ac = order(a < a_end ? *a : 0), bc = order(b < b_end ? *b : 0);
                        if (ac != bc)
                                return ac - bc;
                        a++;
                        b++;
                }
                while (a < a_end && *a == '0')
                        a++;
                while (b < b_end && *b == '0')
                        b++;
                while (a < a_end && isdigit((unsigned char) *a) && b < b_end &&
                        isdigit((unsigned char) *b)) {
                        if (!first_diff)
                                first_diff = *a - *b;
                        a++;
                        b++;
                }
                if (a < a_end && isdigit((unsigned char) *a))
                        return 1;
                if (b < b_end && isdigit((unsigned char) *b))
                        return -1;
                if (first_diff)
                        return first_diff;
        }
        return 0;
}

typedef struct DebVersion {
        unsigned long epoch;
        const char *upstream, *upstream_end, *revision, *revision_end;
} DebVersion;

static void deb_version_split(const char *v, DebVersion *ret)
{
        const char *colon = strchr(v, ':'), *end = v + strlen(v), *hyphen;

        *ret = (DebVersion){};
        if (colon && colon > v && strspn(v, "0123456789") == (size_t) (colon - v)) {
                ret->epoch = strtoul(v, NULL, 10);
                v = colon + 1;
        }
        hyphen = strrchr(v, '-');
        ret->upstream = v;
        ret->upstream_end = hyphen ?: end;
        ret->revision = hyphen ? hyphen + 1 : end;
        ret->revision_end = end;
}

int nv_deb_version_compare(const char *a, const char *b)
{
        DebVersion x, y;
        int r;

        assert(a);
        assert(b);

        deb_version_split(a, &x);
        deb_version_split(b, &y);
        if (x.epoch != y.epoch)
                return x.epoch < y.epoch ? -1 : 1;
        r = verrevcmp(x.upstream, x.upstream_end, y.upstream, y.upstream_end);
        if (r != 0)
                return r;
        return verrevcmp(x.revision, x.revision_end, y.revision, y.revision_end);
}

/* ---- dpkg's status file ---- */

/* The value of "Field:" at line, trimmed, in a new string; NULL when line is another field. */
static int field_value(const char *line, size_t n, const char *field, char **ret)
{
        size_t l = strlen(field);
        const char *v;

        *ret = NULL;
        if (n <= l || strncasecmp(line, field, l) != 0 || line[l] != ':')
                return 0;
        v = line + l + 1;
        n -= l + 1;
        while (n > 0 && isspace((unsigned char) *v)) {
                v++;
                n--;
        }
        while (n > 0 && isspace((unsigned char) v[n - 1]))
                n--;
        *ret = strndup(v, n);
        return *ret ? 1 : -ENOMEM;
}

typedef struct Paragraph {
        char *package, *version, *status;
} Paragraph;

static void paragraph_done(Paragraph *p)
{
        free(p->package);
        free(p->version);
        free(p->status);
        *p = (Paragraph){};
}

/* Whether the paragraph is the installed package: "install ok installed", not config files
 * left behind. */
static bool paragraph_installed(const Paragraph *p, const char *package)
{
        size_t n;

        if (!p->package || !streq(p->package, package) || !p->version)
                return false;
        if (!p->status)
                return true;
        n = strlen(p->status);
        return n >= 10 && streq(p->status + n - 10, " installed");
}

static int paragraph_line(Paragraph *p, const char *line, size_t n)
{
        char **slots[] = { &p->package, &p->version, &p->status };
        static const char *const fields[] = { "Package", "Version", "Status" };

        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                char *v;
                int r = field_value(line, n, fields[i], &v);
                if (r < 0)
                        return r;
                if (r == 0)
                        continue;
                free(*slots[i]);
                *slots[i] = v;
                return 0;
        }
        return 0;
}

int nv_dpkg_status_version(const char *status, const char *package, char **ret)
{
        _cleanup_(paragraph_done) Paragraph para = {};

        assert(status);
        assert(package);
        assert(ret);

        for (const char *p = status; p;) {
                const char *nl = strchr(p, '\n');
                size_t n = nl ? (size_t) (nl - p) : strlen(p);
                int r;

                if (strspn(p, " \t\r") >= n) {
                        /* A blank line ends a paragraph. */
                        if (paragraph_installed(&para, package)) {
                                *ret = TAKE_PTR(para.version);
                                return 0;
                        }
                        paragraph_done(&para);
                } else if (!isspace((unsigned char) *p)) {
                        r = paragraph_line(&para, p, n);
                        if (r < 0)
                                return r;
                }
                p = nl ? nl + 1 : NULL;
        }
        if (paragraph_installed(&para, package)) {
                *ret = TAKE_PTR(para.version);
                return 0;
        }
        return -ENOENT;
}

/* ---- names ---- */

bool nv_pve_vmid_valid(const char *vmid)
{
        unsigned long v;

        if (!vmid || !*vmid || vmid[0] == '0' || strspn(vmid, "0123456789") != strlen(vmid) ||
                strlen(vmid) > 9)
                return false;
        v = strtoul(vmid, NULL, 10);
        return v >= 100 && v <= 999999999;
}

bool nv_pve_node_name_valid(const char *node)
{
        size_t n;

        if (!node)
                return false;
        n = strlen(node);
        if (n == 0 || n > 63 || node[0] == '-' || node[n - 1] == '-')
                return false;
        for (const char *p = node; *p; p++)
                if (!isalnum((unsigned char) *p) && *p != '-')
                        return false;
        return true;
}

/* ---- the node ---- */

/* pmxcfs's "local" link points to nodes/NAME. */
static int node_from_link(char **ret)
{
        _cleanup_free_ char *path = nv_host_path(NV_PVE_LOCAL);
        char target[PATH_MAX];
        const char *name;
        ssize_t n;

        *ret = NULL;
        if (!path)
                return -ENOMEM;
        n = readlink(path, target, sizeof(target) - 1);
        if (n < 0)
                return 0;
        target[n] = 0;
        name = startswith(target, "nodes/") ?: startswith(target, "/etc/pve/nodes/");
        if (!name || !nv_pve_node_name_valid(name))
                return 0;
        *ret = strdup(name);
        return *ret ? 0 : -ENOMEM;
}

/* PVE's nodename: the short host name. */
static int node_from_hostname(char **ret)
{
        struct utsname u;
        size_t n;

        *ret = NULL;
        if (uname(&u) < 0)
                return 0;
        n = strcspn(u.nodename, ".");
        u.nodename[n] = 0;
        if (!nv_pve_node_name_valid(u.nodename))
                return 0;
        *ret = strdup(u.nodename);
        return *ret ? 0 : -ENOMEM;
}

static int qemu_server_version(char **ret)
{
        _cleanup_free_ char *status = NULL;
        int r;

        *ret = NULL;
        r = nv_host_read_file(NV_DPKG_STATUS, &status, NULL);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0;
        r = nv_dpkg_status_version(status, "qemu-server", ret);
        return r == -ENOMEM ? r : 0;
}

void nv_pve_node_done(NvPveNode *n)
{
        if (!n)
                return;
        free(n->node);
        free(n->qemu_server_version);
        *n = (NvPveNode){};
}

int nv_pve_node_read(NvPveNode *ret)
{
        _cleanup_(nv_pve_node_done) NvPveNode n = {};
        _cleanup_free_ char *dir = NULL;
        struct stat st;
        int r;

        assert(ret);

        dir = nv_host_path(NV_PVE_CONFIG_DIR);
        if (!dir)
                return -ENOMEM;
        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
                *ret = (NvPveNode){};
                return 0;
        }
        n.present = true;

        r = node_from_link(&n.node);
        if (r < 0)
                return r;
        if (!n.node) {
                r = node_from_hostname(&n.node);
                if (r < 0)
                        return r;
        }

        r = qemu_server_version(&n.qemu_server_version);
        if (r < 0)
                return r;
        n.nested_virt = n.qemu_server_version &&
                nv_deb_version_compare(n.qemu_server_version, NV_PVE_NESTED_VIRT_VERSION) >= 0;

        *ret = n;
        n = (NvPveNode){};
        return 0;
}
