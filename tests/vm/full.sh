# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=dash disable=SC2034,SC2154
# The full tier, sourced by run.sh: a Debian image with systemd, dbus, polkitd and udev, the
# Debian package nestvirt (tools/build-deb.sh, this tree) installed into it with apt, booted three
# times on Debian's kernel.
#
#   boot 1: the package's postinst enabled the units, bus activation and idle exit, polkit
#           (unprivileged user without and with a rule),
#           a libvirt VM of type kvm exposed, started and hidden, a Proxmox VE VM changed through
#           a stand-in pvesh run by systemd-run, `nestvirtctl disable` (now and persistent),
#           journal audit records, systemd-analyze
#   boot 2: plain reboot: kvm_amd comes up with nested off, nestvirt-enforce.service succeeded
#   boot 3: a unit loads kvm_amd with nested=1 before nestvirt-enforce.service: enforcement at
#           boot turns it off again; then the package's life: an upgrade (the same tree built as
#           a higher version) and a reinstall, with nestvirtd running and not, that reload
#           nothing, a remove that keeps the drop-in, a purge that removes it

# The debootstrapped Debian, built once and cached. Bump the version when its recipe changes.
NV_ROOTFS_RECIPE=2
NV_ROOTFS_PACKAGES="systemd,systemd-sysv,dbus,polkitd,libpam-systemd,kmod,udev"
# The rest of the package's Depends (debian/control, with the libraries that ${shlibs:Depends}
# names; dbus provides default-dbus-system-bus): apt installs the package without package lists,
# so every dependency must be here already.
NV_ROOTFS_PACKAGES="$NV_ROOTFS_PACKAGES,libglib2.0-0,libjson-glib-1.0-0,libkmod2,libsystemd0,libudev1,libvirt0,libxml2"
# libvirt with its QEMU driver and QEMU, for a VM of type kvm (the guest has /dev/kvm); without
# libvirt-daemon-system: the test starts libvirtd itself (guest/libvirt-qemu.conf).
NV_ROOTFS_PACKAGES="$NV_ROOTFS_PACKAGES,libvirt-daemon,libvirt-daemon-driver-qemu,libvirt-clients,qemu-system-x86"

NV_FULL_CHECKS_1="boot-kvm-amd-autoloaded boot-enforce-unit-succeeded package-enabled-units
        daemon-idle-after-boot
        activation-by-status activation-by-systemd idle-exit
        polkit-unprivileged-refused polkit-rule-allows-unprivileged
        sandbox-vms-names-vm sandbox-listvms-reports-vm sandbox-disable-refused
        sandbox-disable-module-untouched monitor-outlives-idle-timeout monitor-sees-external-reload
        libvirt-kvm-expose libvirt-kvm-running-exposed libvirt-kvm-disable-refused libvirt-kvm-hide-restores
        pve-expose-through-systemd-run
        disable-runtime-and-persistent journal-audit-records
        security-online-matches-offline security-guest-matches-host"
NV_FULL_CHECKS_2="reboot-module-comes-up-off reboot-enforce-unit-succeeded reboot-next-load-from-dropin"
NV_FULL_CHECKS_3="enforce-precondition-loaded-nested-on enforce-unit-succeeded enforce-turned-nested-off
        enforce-audit-record package-upgrade-no-reload package-remove-keeps-dropin package-purge"

nv_debian_mirror() {
        if [ -n "${NESTVIRT_VM_MIRROR:-}" ]; then
                echo "$NESTVIRT_VM_MIRROR"
                return
        fi
        # The archive apt uses here (deb822 or one-line sources), else Debian's default.
        m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
                awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }')
        [ -n "$m" ] || m=$(sed -n 's/^deb \(\[[^]]*\] \)\?\([^ ]*\/debian\/\?\) .*/\2/p' /etc/apt/sources.list 2>/dev/null | head -n 1)
        echo "${m:-http://deb.debian.org/debian}"
}

nv_suite() {
        (. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
}

nv_rootfs_dir() {
        echo "$NV_CACHE/rootfs/$(nv_suite)-r$NV_ROOTFS_RECIPE-$(echo "$NV_ROOTFS_PACKAGES" | cksum | cut -d' ' -f1)"
}

nv_build_rootfs_locked() {
        dir=$1
        [ -f "$dir/.complete" ] && return 0
        command -v debootstrap >/dev/null || nv_die "debootstrap is missing (tools/install-deps.sh)"
        suite=$(nv_suite)
        mirror=$(nv_debian_mirror)
        nv_log "debootstrap $suite from $mirror (once; cached in $dir)"
        rm -rf "$dir"
        mkdir -p "$dir"
        debootstrap --variant=minbase --include="$NV_ROOTFS_PACKAGES" "$suite" "$dir/root" "$mirror" \
                >"$dir/debootstrap.log" 2>&1 || {
                tail -n 20 "$dir/debootstrap.log" >&2
                nv_die "debootstrap failed (log: $dir/debootstrap.log)"
        }
        r=$dir/root
        # The unprivileged user of the polkit checks.
        chroot "$r" useradd -m -u 1000 -s /bin/sh nvuser
        # libvirt's QEMU driver looks its default user up before it reads qemu.conf.
        chroot "$r" useradd -r -M -s /usr/sbin/nologin libvirt-qemu
        echo "nestvirt-test" >"$r/etc/hostname"
        echo "/dev/vda / ext4 rw,errors=remount-ro 0 1" >"$r/etc/fstab"
        # A quiet serial console and a boot that does only what the test needs.
        for u in getty@.service serial-getty@.service apt-daily.timer apt-daily-upgrade.timer \
                e2scrub_all.timer e2scrub_reap.service fstrim.timer; do
                ln -sf /dev/null "$r/etc/systemd/system/$u"
        done
        : >"$r/etc/machine-id"
        chroot "$r" apt-get clean
        rm -rf "$r/var/lib/apt/lists/"* "$r/var/cache/apt/"*.bin "$r/var/log/"*.log
        touch "$dir/.complete"
        nv_log "rootfs ready: $(du -sh "$r" | cut -f1)"
        # Older recipes are of no use any more.
        for old in "$NV_CACHE"/rootfs/*; do
                [ "$old" = "$dir" ] || rm -rf "$old"
        done
}

# The Debian packages of this tree, built by tools/build-deb.sh into the run's work directory
# (nothing of it is cached): $work/deb holds the package under test, $work/deb-upgrade the same
# tree as a higher version (--version-suffix), which the last boot upgrades to.
nv_full_packages() {
        nv_full_build_deb deb
        nv_full_build_deb deb-upgrade --version-suffix +t1
        NV_DEB=$(echo "$work/deb"/nestvirt_*.deb)
        NV_DEB_UPGRADE=$(echo "$work/deb-upgrade"/nestvirt_*.deb)
        nv_log "packages: $(basename "$NV_DEB"), for the upgrade $(basename "$NV_DEB_UPGRADE")"
}

# nv_full_build_deb DIR [OPTION...]: tools/build-deb.sh OPTION... $work/DIR, which must then hold
# exactly one nestvirt_*.deb (beside nestvirt-dbgsym_*.deb and the source package).
nv_full_build_deb() {
        local d="$1" how
        shift
        how="tools/build-deb.sh${*:+ $*}"
        nv_log "building the Debian package: $how (log: $work/$d.log)"
        "$src/tools/build-deb.sh" "$@" "$work/$d" >"$work/$d.log" 2>&1 || {
                tail -n 30 "$work/$d.log" >&2
                nv_die "$how failed (log: $work/$d.log)"
        }
        set -- "$work/$d"/nestvirt_*.deb
        [ $# = 1 ] && [ -f "$1" ] || nv_die "$how left no single nestvirt_*.deb in $work/$d"
}

# apt in the image, which has no package lists and no network: it installs a local .deb whose
# dependencies are installed already (any other is an error), without them. No pty for dpkg's
# log in the chroot.
nv_chroot_apt() {
        local r="$1"
        shift
        DEBIAN_FRONTEND=noninteractive chroot "$r" apt-get -y --no-install-recommends -o Dpkg::Use-Pty=0 "$@"
}

# The initramfs of the full tier: loads the disk and ext4 modules, mounts /dev/vda, switches root.
nv_full_initramfs() {
        r=$work/full-initrd-root
        rm -rf "$r"
        nv_skeleton "$r"
        nv_install_file "$r" /bin/busybox /usr/bin/busybox
        nv_install_with_libs "$r" "$(command -v kmod)" /usr/bin/kmod
        ln -s ../bin/kmod "$r/usr/sbin/modprobe"
        for applet in sh mount umount mkdir sleep switch_root cat echo poweroff test '['; do
                ln -s busybox "$r/usr/bin/$applet"
        done
        cp -a "$NV_KMODS/lib/modules" "$r/usr/lib/"
        nv_install_file "$r" "$here/guest/full-initrd-init.sh" /init
        chmod 0755 "$r/init"
        (cd "$r" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1) >"$work/full-initrd.gz"
}

nv_full_image() {
        r=$work/full-root
        rm -rf "$r"
        cp -a "$NV_ROOTFS/root" "$r" || nv_die "cannot copy the rootfs"

        # The package as an administrator installs it; its postinst enables nestvirt-enforce.service
        # and nestvirtd.service (for the alias dbus-org.nestvirt.NestVirt1.service, the name bus
        # activation asks systemd for), which boot 1 checks.
        mkdir -p "$r/var/lib/nestvirt-test"
        cp "$NV_DEB" "$NV_DEB_UPGRADE" "$r/var/lib/nestvirt-test/" || nv_die "cannot copy the packages"
        nv_chroot_apt "$r" install "/var/lib/nestvirt-test/$(basename "$NV_DEB")" >"$work/apt-install.log" 2>&1 || {
                cat "$work/apt-install.log" >&2
                nv_die "apt-get install of $(basename "$NV_DEB") in the image failed (a dependency missing from NV_ROOTFS_PACKAGES?)"
        }
        # Only the upgrade stays in the image, for the last boot; it is not installed.
        rm -f "$r/var/lib/nestvirt-test/$(basename "$NV_DEB")"
        # Every library the installed programs need must be in the image.
        for f in /usr/libexec/nestvirtd /usr/bin/nestvirtctl; do
                [ -f "$r$f" ] || nv_die "the package did not install $f"
                missing=$(chroot "$r" ldd "$f" 2>&1 | grep 'not found' || true)
                [ -z "$missing" ] || nv_die "the image lacks libraries of $f: $missing (add their packages to NV_ROOTFS_PACKAGES)"
        done

        mkdir -p "$r/usr/lib/modules"
        cp -a "$NV_KMODS/lib/modules/$NV_KREL" "$r/usr/lib/modules/" || nv_die "cannot copy the modules"
        depmod -b "$r" "$NV_KREL" || nv_die "depmod in the image failed"

        t=$r/usr/lib/nestvirt-test
        mkdir -p "$t"
        cp "$NESTVIRT_NV_BUS" "$NESTVIRT_KVM_HOLD" "$here/guest/lib.sh" "$here/guest/full-test.sh" \
                "$here/guest/full-enforce-precondition.sh" "$here/guest/pvesh-standin.sh" "$t/" ||
                nv_die "cannot copy the test helpers"
        chmod 0755 "$t/full-test.sh" "$t/full-enforce-precondition.sh" "$t/pvesh-standin.sh"
        mkdir -p "$r/etc/libvirt"
        cp "$here/guest/libvirt-qemu.conf" "$r/etc/libvirt/qemu.conf" || nv_die "cannot copy qemu.conf"
        # A Proxmox VE node as nestvirtd reads one: a VM config, the node link, and qemu-server's
        # entry in dpkg's status (9.0.27 knows +nested-virt). Only pvesh is missing: a drop-in
        # points nestvirtd at the stand-in.
        mkdir -p "$r/etc/pve/qemu-server" "$r/etc/pve/nodes/nestvirt-test"
        ln -sfn nodes/nestvirt-test "$r/etc/pve/local"
        printf 'name: pve-l2\ncpu: x86-64-v2-AES\nmemory: 512\n' >"$r/etc/pve/qemu-server/200.conf"
        # Maintainer, Description and the (empty) file list keep dpkg quiet about it in the last
        # boot's apt runs.
        printf 'Package: qemu-server\nStatus: install ok installed\nMaintainer: nestvirt test <root@localhost>\nVersion: 9.0.27\nArchitecture: amd64\nDescription: stand-in for Proxmox VE'"'"'s qemu-server\n\n' \
                >>"$r/var/lib/dpkg/status"
        : >"$r/var/lib/dpkg/info/qemu-server.list"
        cp "$here/guest/nestvirt-test.service" "$here/guest/nestvirt-test-precondition.service" \
                "$r/etc/systemd/system/" || nv_die "cannot copy the test units"
        systemctl --root="$r" enable nestvirt-test.service nestvirt-test-precondition.service >/dev/null 2>&1 ||
                nv_die "could not enable the test units"
        # The daemon's idle timeout, 30 s, would be waited out twice per boot; the drop-in
        # changes only the command line (systemd-analyze security scores the same).
        mkdir -p "$r/etc/systemd/system/nestvirtd.service.d"
        cp "$here/guest/nestvirtd-test-idle.conf" "$here/guest/nestvirtd-test-pvesh.conf" \
                "$r/etc/systemd/system/nestvirtd.service.d/" || nv_die "cannot copy the drop-ins"

        # The offline score on the host, for the guest to compare with its online one.
        systemd-analyze security --offline=yes --root="$r" nestvirtd.service 2>/dev/null |
                sed -n 's/.*Overall exposure level for nestvirtd.service: \([0-9.]*\).*/\1/p' \
                        >"$t/host-offline-score"
        nv_log "host offline security score of nestvirtd.service: $(cat "$t/host-offline-score")"

        rm -f "$work/full.img"
        truncate -s 2G "$work/full.img"
        mkfs.ext4 -q -F -L nvroot -d "$r" "$work/full.img" || nv_die "mkfs.ext4 -d failed"
}

# nv_full_boot STAGE: boots the image once; the log is $work/full-STAGE.log.
nv_full_boot() {
        local stage="$1" t0 rc=0
        t0=$(nv_now)
        nv_qemu "$work/full-$stage.log" "${NESTVIRT_VM_TIMEOUT:-720}" max "$NV_KERNEL" "$work/full-initrd.gz" \
                "root=/dev/vda rw systemd.show_status=error nestvirt.stage=$stage" \
                -drive "file=$work/full.img,format=raw,if=virtio,cache=unsafe" -nic none || rc=$?
        nv_log "full boot $stage: QEMU exited with $rc after $(($(nv_now) - t0)) s"
}

nv_full_tier() {
        local t0 status=0 stage checks
        t0=$(nv_now)
        nv_fetch_kernel
        NV_ROOTFS=$(nv_rootfs_dir)
        nv_locked nv_build_rootfs_locked "$NV_ROOTFS" || exit 1
        nv_full_initramfs
        for tool in dpkg-buildpackage dpkg-parsechangelog lintian dh fakeroot; do
                command -v "$tool" >/dev/null 2>&1 || nv_die "$tool is missing: tools/build-deb.sh needs it (tools/install-deps.sh)"
        done
        nv_full_packages
        # Under the lock: the cached rootfs must not change while it is copied.
        nv_locked nv_full_image || exit 1
        nv_log "full tier: image ready in $(($(nv_now) - t0)) s"

        for stage in 1 2 3; do
                nv_full_boot "$stage"
                eval "checks=\$NV_FULL_CHECKS_$stage"
                echo "full tier, boot $stage:"
                # shellcheck disable=SC2086
                if ! nv_assert "$work/full-$stage.log" $checks; then
                        nv_keep_log "$work/full-$stage.log" "full-$stage"
                        status=1
                        # Later boots build on this one's state.
                        break
                fi
        done
        nv_log "full tier: $([ $status = 0 ] && echo PASSED || echo FAILED) in $(($(nv_now) - t0)) s"
        return $status
}
