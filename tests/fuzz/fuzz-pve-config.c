/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A Proxmox VE VM config (/etc/pve/qemu-server/VMID.conf, qm.conf(5)), which anyone with
 * VM.Config rights shapes through the API: nv_pve_conf_parse() and the values for the next start.
 * The same bytes also go through the custom CPU model reader (cpu-models.conf).
 */
#include "fuzz-util.h"
#include "pve/pve-config.h"
#include "pve/pve-models.h"
#include "util.h"

static void check_props(const NvPveProp *p, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                fuzz_assert(p[i].key[0] >= 'a' && p[i].key[0] <= 'z');
                fuzz_assert(!strchr(p[i].key, ':'));
                /* Values are trimmed, never empty, one line. */
                fuzz_assert(*p[i].value);
                fuzz_assert(!strchr(p[i].value, '\n'));
                fuzz_assert(p[i].value[strlen(p[i].value) - 1] != ' ');
                for (size_t j = 0; j < i; j++)
                        fuzz_assert(!streq(p[i].key, p[j].key));
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        NvPveConf c = {};
        NvPveModels m = {};
        int r;

        if (size > FUZZ_MAX_INPUT)
                return 0;

        r = nv_pve_conf_parse((const char *) data, size, &c);
        fuzz_assert(r == 0 || r == -EBADMSG || r == -ENOMEM);
        if (r == 0) {
                check_props(c.main, c.n_main);
                check_props(c.pending, c.n_pending);
                for (size_t i = 0; i < c.n_main; i++) {
                        const char *k = c.main[i].key, *next = nv_pve_conf_get_next(&c, k);
                        fuzz_assert(streq(nv_pve_conf_get(&c, k), c.main[i].value));
                        fuzz_assert(nv_pve_conf_pending_changes(&c, k) == !streq_ptr(next, c.main[i].value));
                        if (strv_contains(c.pending_delete, k))
                                fuzz_assert(!next);
                }
                /* One "!" (force) is taken off, as qemu-server does; keys have no separators. */
                for (size_t i = 0; c.pending_delete && c.pending_delete[i]; i++)
                        fuzz_assert(*c.pending_delete[i] && !strpbrk(c.pending_delete[i], ",; \t\n"));
        } else
                fuzz_assert(memchr(data, 0, size));
        nv_pve_conf_done(&c);

        r = nv_pve_models_parse((const char *) data, size, &m);
        fuzz_assert(r == 0 || r == -ENOMEM);
        for (size_t i = 0; r == 0 && i < m.n_models; i++) {
                _cleanup_free_ char *cputype = NULL;
                fuzz_assert(asprintf(&cputype, "custom-%s", m.models[i].name) > 0);
                fuzz_assert(nv_pve_models_find(&m, cputype) == m.models + i);
                fuzz_assert(*m.models[i].name && !strpbrk(m.models[i].name, " \t\n"));
        }
        nv_pve_models_done(&m);
        return 0;
}
