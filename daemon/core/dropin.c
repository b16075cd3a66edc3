/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>

#include "dropin.h"
#include "fileio.h"
#include "host-path.h"
#include "util.h"

static int dropin_content(NvNested value, char **ret)
{
        int v;

        if (value == NV_NESTED_ENABLED)
                v = 1;
        else if (value == NV_NESTED_DISABLED)
                v = 0;
        else
                return -EINVAL;

        /* Both lines, so the setting survives a move of the disks to a CPU of the other vendor. */
        if (asprintf(ret,
                    "# Written by nestvirtd. Change it with \"nestvirtctl enable|disable|reset\";\n"
                    "# edits here are replaced on the next change.\n"
                    "options kvm_intel nested=%d\n"
                    "options kvm_amd nested=%d\n",
                    v, v) < 0)
                return -ENOMEM;
        return 0;
}

int nv_dropin_write(NvNested value)
{
        _cleanup_free_ char *content = NULL;
        int r = dropin_content(value, &content);

        if (r < 0)
                return r;
        r = nv_host_mkdir("/etc/modprobe.d", 0755);
        if (r < 0)
                return r;
        return nv_write_file_atomic(NV_DROPIN_PATH, content, 0644);
}

bool nv_dropin_matches(NvNested value)
{
        _cleanup_free_ char *want = NULL, *have = NULL;

        if (dropin_content(value, &want) < 0 || nv_host_read_file(NV_DROPIN_PATH, &have, NULL) < 0)
                return false;
        return streq(want, have);
}

int nv_dropin_save(char **ret)
{
        int r;

        assert(ret);

        r = nv_host_read_file(NV_DROPIN_PATH, ret, NULL);

        if (r == -ENOENT) {
                *ret = NULL;
                return 0;
        }
        return r;
}

int nv_dropin_restore(const char *saved)
{
        if (!saved)
                return nv_remove_file(NV_DROPIN_PATH);
        return nv_write_file_atomic(NV_DROPIN_PATH, saved, 0644);
}

int nv_dropin_remove(void)
{
        return nv_remove_file(NV_DROPIN_PATH);
}
