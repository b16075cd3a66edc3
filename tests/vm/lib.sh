# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=dash disable=SC2034,SC2154
# Host-side helpers of the QEMU test tier, sourced by run.sh (POSIX sh).
#
# Everything downloaded or built once lives under ONE cache directory:
#   $NV_CACHE/kernel/<package>_<version>/   vmlinuz, release, modules/lib/modules/<release>/
#   $NV_CACHE/rootfs/<key>/                 the debootstrapped Debian of the full tier
#   $NV_CACHE/logs/                         console logs of failed runs

NV_CACHE=${NESTVIRT_CACHE_DIR:-/var/cache/nestvirt-test}

# The modules the guests need from Debian's kernel package, with their dependencies: KVM for
# both vendors, and what the full tier's root disk needs (virtio disk, ext4).
NV_GUEST_MODULES="kvm_amd kvm_intel virtio_pci virtio_blk ext4"

nv_log() {
        printf '%s\n' "vm: $*" >&2
}

nv_die() {
        printf '%s\n' "vm: error: $*" >&2
        exit 1
}

nv_now() {
        date +%s
}

# Runs "$@" while holding the cache lock, so two runs never build the same entry at once.
nv_locked() {
        mkdir -p "$NV_CACHE"
        (
                flock 9
                "$@"
        ) 9>"$NV_CACHE/.lock"
}

nv_current_kernel_pkg() {
        apt-cache depends linux-image-amd64 2>/dev/null |
                sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1
}

# Finds the current kernel package (linux-image-amd64's dependency) and its version. Without
# the archive (offline), falls back to the newest kernel already in the cache.
nv_kernel_dir() {
        pkg=${NESTVIRT_VM_KERNEL_PKG:-}
        ver=""
        case $pkg in
        *=*)
                # PACKAGE=VERSION pins both; a cached copy serves even when the archive moved on.
                ver=${pkg#*=}
                pkg=${pkg%%=*}
                echo "$NV_CACHE/kernel/${pkg}_$ver"
                return 0
                ;;
        esac
        if [ -z "$pkg" ]; then
                pkg=$(nv_current_kernel_pkg)
                # No package lists yet (a fresh machine): fetch them once, and only without a cache.
                if [ -z "$pkg" ] && ! ls -d "$NV_CACHE"/kernel/linux-image-*/.complete >/dev/null 2>&1; then
                        apt-get update -q >/dev/null 2>&1 || true
                        pkg=$(nv_current_kernel_pkg)
                fi
        fi
        [ -n "$pkg" ] && ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null |
                sed -n 's/^Version: //p' | head -n 1)
        if [ -n "$pkg" ] && [ -n "$ver" ]; then
                echo "$NV_CACHE/kernel/${pkg}_$ver"
                return 0
        fi
        cached=$(ls -d "$NV_CACHE"/kernel/linux-image-*/.complete 2>/dev/null | sort -V | tail -n 1)
        [ -n "$cached" ] || nv_die "no kernel package known to apt (run apt-get update) and none cached"
        nv_log "apt does not know the kernel package; using the cached $(dirname "$cached")"
        dirname "$cached"
}

# Downloads the kernel package and keeps vmlinuz plus the modules the guests need, indexed with
# depmod. Sets NV_KERNEL (vmlinuz), NV_KREL (release) and NV_KMODS (a root holding lib/modules).
nv_fetch_kernel_locked() {
        dir=$1
        [ -f "$dir/.complete" ] && return 0
        base=$(basename "$dir")
        pkg=${base%%_*}
        ver=${base#*_}
        nv_log "fetching $pkg $ver from the Debian archive"
        mkdir -p "$NV_CACHE/kernel"
        tmp=$(mktemp -d "$NV_CACHE/kernel/.tmp.XXXXXX")
        # apt drops to the _apt user for downloads; let it write here.
        chmod 0777 "$tmp"
        (cd "$tmp" && apt-get download -q "$pkg=$ver" >/dev/null) || {
                rm -rf "$tmp"
                nv_die "apt-get download $pkg=$ver failed"
        }
        dpkg-deb -x "$tmp"/*.deb "$tmp/x" || nv_die "dpkg-deb -x failed"
        rel=$(ls "$tmp/x/lib/modules")
        [ -n "$rel" ] && [ -f "$tmp/x/boot/vmlinuz-$rel" ] || nv_die "$pkg has no vmlinuz or modules"
        depmod -b "$tmp/x" "$rel" || nv_die "depmod on the full tree failed"

        rm -rf "$dir"
        mkdir -p "$dir/modules/lib/modules/$rel"
        for m in $NV_GUEST_MODULES; do
                modprobe -d "$tmp/x" -S "$rel" --show-depends "$m" ||
                        nv_die "module $m missing in $pkg"
        done | awk '$1 == "insmod" { print $2 }' | sort -u >"$tmp/list"
        while read -r path; do
                relpath=${path#"$tmp/x"}
                relpath=${relpath#/usr}
                mkdir -p "$dir/modules$(dirname "$relpath")"
                cp "$path" "$dir/modules$relpath"
        done <"$tmp/list"
        for f in modules.builtin modules.builtin.modinfo modules.order; do
                cp "$tmp/x/lib/modules/$rel/$f" "$dir/modules/lib/modules/$rel/"
        done
        depmod -b "$dir/modules" "$rel" || nv_die "depmod on the module subset failed"
        cp "$tmp/x/boot/vmlinuz-$rel" "$dir/vmlinuz"
        cp "$tmp/x/boot/config-$rel" "$dir/config"
        echo "$rel" >"$dir/release"
        rm -rf "$tmp"
        touch "$dir/.complete"
        # A newer kernel package replaces the older ones.
        for old in "$NV_CACHE"/kernel/linux-image-*; do
                [ "$old" = "$dir" ] || rm -rf "$old"
        done
        nv_log "kernel $rel cached in $dir ($(wc -l <"$dir/modules/lib/modules/$rel/modules.dep") modules)"
}

nv_fetch_kernel() {
        kdir=$(nv_kernel_dir) || exit 1
        nv_locked nv_fetch_kernel_locked "$kdir" || exit 1
        NV_KERNEL=$kdir/vmlinuz
        NV_KREL=$(cat "$kdir/release")
        NV_KMODS=$kdir/modules
        NV_KPKG=$(basename "$kdir")
        # The exact kernel, in the test output: the archive may serve another one tomorrow
        # (NESTVIRT_VM_KERNEL_PKG=PACKAGE=VERSION pins one that is cached).
        echo "kernel under test: ${NV_KPKG%%_*} ${NV_KPKG#*_} (release $NV_KREL)"
}

# A root with Debian's merged-/usr layout: /bin, /sbin, /lib, /lib64 link into /usr.
nv_skeleton() {
        local root="$1"
        mkdir -p "$root/usr/bin" "$root/usr/sbin" "$root/usr/lib" "$root/usr/lib64" "$root/etc" \
                "$root/proc" "$root/sys" "$root/dev" "$root/run" "$root/tmp" "$root/var" "$root/root"
        for d in bin sbin lib lib64; do
                ln -sfn "usr/$d" "$root/$d"
        done
        ln -sfn ../run "$root/var/run"
}

# Copies a file into the root at the same path (or DEST), following symlinks.
nv_install_file() {
        local _root="$1" _from="$2" _dest="${3:-$2}"
        mkdir -p "$_root$(dirname "$_dest")"
        cp -L "$_from" "$_root$_dest" || nv_die "cannot copy $_from"
}

# Copies an executable (or library) and every shared library ldd lists for it, the loader too.
nv_install_with_libs() {
        local _root="$1" _from="$2" _dest="${3:-$2}"
        nv_install_file "$_root" "$_from" "$_dest"
        ldd "$_from" 2>/dev/null | awk '
                $2 == "=>" && $3 ~ /^\// { print $3 }
                $1 ~ /^\// { print $1 }' | while read -r lib; do
                [ -e "$_root$lib" ] || nv_install_file "$_root" "$lib"
        done
}

# What every guest's kernel command line carries, so that a stuck guest says where it is stuck
# instead of waiting out the host's bound in silence: the whole boot log (no `quiet`), lockup and
# hung-task detectors that panic (their thresholds far above any delay a loaded host causes: the
# soft-lockup detector fires after 2 * watchdog_thresh s), a panic on an NMI from the host
# (hang-report.py sends one), SysRq from the emulated keyboard, and no address randomization, so
# that the vCPU addresses in hang reports compare across runs. panic=-1 and QEMU's -no-reboot turn
# a panic into QEMU's exit.
NV_DEBUG_APPEND="console=ttyS0 loglevel=6 panic=-1 nokaslr softlockup_panic=1 watchdog_thresh=30
        hung_task_panic=1 sysctl.kernel.hung_task_timeout_secs=90 unknown_nmi_panic=1
        sysrq_always_enabled=1"

# Boots a guest: nv_qemu LOG TIMEOUT CPU KERNEL INITRD APPEND [extra qemu args...]
# The serial console (ttyS0: the kernel, systemd) goes to LOG, the guest's results (ttyS1, nothing
# else writes there, so no kernel message can split a result line) to LOG.out, and QEMU's monitor
# listens on LOG.mon. When the guest has not
# powered off after TIMEOUT seconds, hang-report.py asks the monitor where it is stuck (its report
# is appended to LOG) before QEMU is killed. Returns QEMU's status (124 when the bound hit).
# NV_HANG_WHEN=TEXT treats the guest as hung as soon as its results port shows TEXT (the
# diagnostics' own test, hang.sh).
#
# One vCPU (NESTVIRT_VM_CPUS): nothing here needs two, and with one the guest kernel never waits
# on another vCPU (AP bring-up at boot, the cross-CPU calls that enable and disable SVM around a
# VM's life), which a loaded host can starve under TCG. See tests/vm/README.md.
nv_qemu() {
        local log="$1" tmo="$2" cpu="$3" kernel="$4" initrd="$5" append="$6" pid deadline rc=0
        shift 6
        : >"$log"
        : >"$log.out"
        rm -f "$log.mon"
        # shellcheck disable=SC2086
        qemu-system-x86_64 \
                -machine q35 -accel tcg -cpu "$cpu" -m "${NESTVIRT_VM_MEMORY:-1024}" \
                -smp "${NESTVIRT_VM_CPUS:-1}" \
                -display none -serial "file:$log" -serial "file:$log.out" -no-reboot \
                -monitor "unix:$log.mon,server=on,wait=off" \
                -kernel "$kernel" -initrd "$initrd" -append "$(echo $NV_DEBUG_APPEND) $append" \
                "$@" </dev/null &
        pid=$!
        deadline=$(($(nv_now) + tmo))
        while kill -0 "$pid" 2>/dev/null && [ "$(nv_now)" -lt "$deadline" ]; do
                [ -n "${NV_HANG_WHEN:-}" ] && grep -qF "$NV_HANG_WHEN" "$log.out" && break
                sleep 1
        done
        if kill -0 "$pid" 2>/dev/null; then
                nv_log "the guest did not power off within its bound; asking QEMU's monitor where it is stuck"
                {
                        echo "=== hang report: the guest outlived its bound ==="
                        timeout 90 /usr/bin/python3 "$here/hang-report.py" "$log.mon" "$log" 2>&1
                        echo "=== end of the hang report ==="
                } >"$log.hang"
                # The NMI panics the guest, and QEMU exits (-no-reboot); it gets a moment for that.
                deadline=$(($(nv_now) + 10))
                while kill -0 "$pid" 2>/dev/null && [ "$(nv_now)" -lt "$deadline" ]; do
                        sleep 1
                done
                if kill -0 "$pid" 2>/dev/null; then
                        echo "QEMU still runs after the hang report: killed" >>"$log.hang"
                        kill -KILL "$pid" 2>/dev/null
                else
                        echo "QEMU exited after the hang report's NMI" >>"$log.hang"
                fi
                wait "$pid" 2>/dev/null
                cat "$log.hang" >>"$log"
                grep '^hang-report: vCPU' "$log.hang" | sed 's/^/vm: /' >&2
                rc=124
        else
                wait "$pid" || rc=$?
        fi
        rm -f "$log.mon"
        return $rc
}

# Whether the guest reached the first step of its script: the console carries the line the
# guest prints first. A boot that never got there proves nothing about nestvirt and may be
# tried once more (nv_boot_retry).
nv_reached_first_step() {
        tr -d '\r' <"$1.out" | grep -q '^NESTVIRT-NOTE: .* tier, '
}

# Checks a console log: every expected name PASSes, nothing FAILs, DONE is there.
# nv_assert LOG NAME... ; prints a summary; returns 0 when all is well.
nv_assert() {
        local log="$1" status name line
        shift
        tr -d '\r' <"$log.out" | sed -n 's/^NESTVIRT-TEST: //p' >"$log.results"
        status=0
        for name in "$@"; do
                if grep -qx "PASS $name" "$log.results"; then
                        echo "  PASS $name"
                elif line=$(grep -m1 "^FAIL $name: " "$log.results"); then
                        echo "  $line"
                        status=1
                else
                        echo "  MISSING $name"
                        status=1
                fi
        done
        # Anything the guest reported that we did not expect.
        sed -n 's/^\(PASS\|FAIL\|SKIP\) \([^:]*\).*/\2/p' "$log.results" | sort -u | while read -r name; do
                case " $* " in
                *" $name "*) ;;
                *) echo "  unexpected result: $(grep -m1 " $name" "$log.results")" ;;
                esac
        done
        if grep -q '^FAIL ' "$log.results"; then
                grep '^FAIL ' "$log.results" | while read -r line; do
                        case " $* " in
                        *" $(echo "$line" | sed 's/^FAIL \([^:]*\):.*/\1/') "*) ;;
                        *) echo "  $line" ;;
                        esac
                done
                status=1
        fi
        if ! grep -qx 'DONE' "$log.results"; then
                echo "  MISSING DONE: the guest did not finish"
                status=1
        fi
        return $status
}

# Keeps a failed run's console log in the cache and says where.
nv_keep_log() {
        local log="$1" what="$2" kept
        mkdir -p "$NV_CACHE/logs"
        find "$NV_CACHE/logs" -name '*.log' -mtime +14 -delete 2>/dev/null || true
        kept="$NV_CACHE/logs/$what-$(date +%Y%m%d-%H%M%S).log"
        cp "$log" "$kept"
        cp "$log.out" "${kept%.log}.results.log"
        echo "vm: console log of the failed run: $kept (results: ${kept%.log}.results.log)" >&2
        echo "vm: last lines of the console:" >&2
        tr -d '\r' <"$log" | tail -n 80 | sed 's/^/    | /' >&2
}
