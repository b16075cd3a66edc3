#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Installs the dependencies, builds nestvirt, starts a private D-Bus system bus with the project's
# policy, and shows `nestvirtctl status` from a bus-activated nestvirtd. Run as root.
#
# When this machine has no KVM vendor module, nestvirtd reads a simulated AMD host instead; the
# output says so. Nothing on the real host is changed either way: the bus is private and the
# daemon is only asked to read.
set -eu
cd "$(dirname "$0")/.."
src=$(pwd)

tools/install-deps.sh
[ -d build ] || meson setup build
meson compile -C build

tmp=$(mktemp -d /tmp/nestvirt-try.XXXXXX)
bus_pid=""
cleanup() {
        [ -n "$bus_pid" ] && kill "$bus_pid" 2>/dev/null
        rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# The vendor module of this CPU, if it is loaded, built in or installed for the running kernel.
case $(grep -m1 '^vendor_id' /proc/cpuinfo 2>/dev/null | sed 's/.*: *//') in
AuthenticAMD | HygonGenuine) module=kvm_amd ;;
*) module=kvm_intel ;;
esac
if [ -d "/sys/module/$module" ] || modinfo "$module" >/dev/null 2>&1; then
        echo "Reading this host ($module)."
        env_lines=""
else
        fixture=amd-cmdline-override
        echo "This host has no $module module: showing a SIMULATED AMD host"
        echo "(tests/fixtures/hosts/$fixture: kvm_amd loaded, a modprobe.d file and the kernel"
        echo "command line disagree about nested)."
        root=$tmp/root
        cp -a "tests/fixtures/hosts/$fixture" "$root"
        rm -f "$root/FIXTURE"
        mkdir -p "$root/etc/modprobe.d" "$root/run" "$root/sys/module/kvm/holders" \
                "$root/sys/module/kvm_amd/holders"
        tests/fixtures/make-module-tree.sh "$root" "$(cat "$root/proc/sys/kernel/osrelease")" \
                "kvm kvm_amd" "" >/dev/null
        env_lines="export NESTVIRT_ROOT=$root
export LD_PRELOAD=$src/build/tests/preload/libnv-preload.so"
fi

mkdir -p "$tmp/services" "$tmp/system.d"
cp dbus/org.nestvirt.NestVirt1.conf "$tmp/system.d/"
cat >"$tmp/nestvirtd-wrapper" <<EOF
#!/bin/sh
$env_lines
exec $src/build/daemon/nestvirtd --idle-timeout=10 2>>$tmp/nestvirtd.log
EOF
chmod +x "$tmp/nestvirtd-wrapper"
cat >"$tmp/services/org.nestvirt.NestVirt1.service" <<EOF
[D-BUS Service]
Name=org.nestvirt.NestVirt1
Exec=$tmp/nestvirtd-wrapper
User=root
EOF
# The system bus's own rules, with our listen address and service directory.
cat >"$tmp/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$tmp/bus</listen>
  <auth>EXTERNAL</auth>
  <servicedir>$tmp/services</servicedir>
  <policy context="default">
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Peer"/>
  </policy>
  <includedir>$tmp/system.d</includedir>
</busconfig>
EOF
dbus-daemon --config-file="$tmp/bus.conf" --nofork --nosyslog 2>"$tmp/bus.log" &
bus_pid=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -S "$tmp/bus" ] && break; sleep 0.2; done

export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$tmp/bus"
echo
build/client/nestvirtctl status
