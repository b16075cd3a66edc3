// SPDX-License-Identifier: LGPL-2.1-or-later
// Why a VM does or does not see vmx/svm: the chain from the CPU to the running process, each link
// judged from nestvirtd's properties alone. The first link that fails is the answer.
// Pure functions of plain property objects, so they are tested without a browser.

import { _, format } from "./i18n.js";

export const OK = "ok";
export const FAIL = "fail";
export const UNKNOWN = "unknown";
export const SKIP = "skip"; // does not matter for this VM

function extension(host) {
    return host.Vendor === "intel" ? "vmx" : host.Vendor === "amd" ? "svm" : "vmx/svm";
}

function hardware(host) {
    const ext = extension(host);
    if (host.HardwareSupport)
        return { state: OK, text: format(_("The CPU shows $0."), ext) };
    if (host.Role === "guest")
        return { state: FAIL, text: format(_("This machine is a VM on $0, whose CPU does not show $1: its hypervisor must expose it."), host.Hypervisor || _("a hypervisor"), ext) };
    return { state: FAIL, text: format(_("The CPU does not show $0."), ext) };
}

function firmware(host) {
    if (host.Vendor === "intel" && !host.HardwareSupport && host.Role !== "guest")
        return { state: FAIL, text: _("VT-x may be turned off in the firmware setup: Linux hides vmx then.") };
    if (host.ModuleState === "loaded" || host.ModuleState === "builtin")
        return { state: OK, text: _("KVM runs, so the firmware allows it.") };
    if (!host.HardwareSupport)
        return { state: SKIP, text: _("Not known without the extension.") };
    return { state: UNKNOWN, text: format(_("Known once $0 loads: \"disabled by BIOS\" in the kernel log means the firmware setup turns it off."), host.Module || "KVM") };
}

function module(host) {
    switch (host.ModuleState) {
    case "loaded":
        return { state: OK, text: format(_("$0 is loaded."), host.Module) };
    case "builtin":
        return { state: OK, text: format(_("$0 is built into the kernel."), host.Module) };
    case "not-loaded":
        return { state: FAIL, text: format(_("$0 is not loaded: no VM can use KVM."), host.Module) };
    default:
        return { state: FAIL, text: _("No KVM module is available for this CPU and kernel.") };
    }
}

function hostValue(host) {
    if (host.Nested === "enabled")
        return { state: OK, text: format(_("Nesting is on for $0."), host.Module) };
    if (host.Nested === "disabled")
        return { state: FAIL, text: format(_("Nesting is off for $0: KVM offers $1 to no VM."), host.Module, extension(host)) };
    return { state: UNKNOWN, text: _("The live value cannot be read.") };
}

function byText() {
    return {
    "host-model": _("the host CPU model"),
    flag: _("a CPU flag"),
    "custom-model": _("a custom CPU model"),
    "raw-args": _("a -cpu in the VM's extra arguments"),
    none: _("its CPU model"),
    "command-line": _("its command line"),
    "not-x86": _("its architecture"),
    };
}

function vmConfig(host, vm) {
    const cpu = vm.Cpu ? format(" (CPU $0)", vm.Cpu) : "";
    const by = byText()[vm.NextStartBy] || vm.NextStartBy;
    if (vm.NextStart === "exposed")
        return { state: OK, text: format(_("Its configuration exposes $0 through $1$2."), extension(host), by, cpu) };
    if (vm.NextStart === "hidden")
        return { state: FAIL, text: format(_("Its configuration hides $0: $1 does$2."), extension(host), by, cpu) };
    return { state: UNKNOWN, text: _("Its configuration does not say.") };
}

function process(host, vm) {
    if (!vm.Running)
        return { state: SKIP, text: _("It does not run; its next start follows the configuration.") };
    const cpu = vm.CpuNow ? format(" (-cpu $0)", vm.CpuNow) : "";
    if (vm.ExposedNow === "exposed")
        return { state: OK, text: format(_("It runs with $0$1."), extension(host), cpu) };
    if (vm.ExposedNow === "hidden") {
        const restart = vm.Pending ? " " + _("It started before the change: only a cold restart applies it.") : "";
        return { state: FAIL, text: format(_("It runs without $0$1."), extension(host), cpu) + restart };
    }
    return { state: UNKNOWN, text: _("What the running process offers cannot be read.") };
}

// [{ id, label, state, text }] in the order of the chain. A VM without KVM (an emulated CPU)
// does not depend on the host's module or value.
export function explainVm(host, vm) {
    const onHost = [
        { id: "hardware", label: _("Hardware"), ...hardware(host) },
        { id: "firmware", label: _("Firmware"), ...firmware(host) },
        { id: "module", label: _("Module"), ...module(host) },
        { id: "host", label: _("Host nesting"), ...hostValue(host) },
    ];
    if (vm.UsesKVM === false)
        for (const link of onHost) {
            link.state = SKIP;
            link.text = _("Does not matter: the VM runs without KVM, on an emulated CPU.");
        }
    return [
        ...onHost,
        { id: "config", label: _("VM configuration"), ...vmConfig(host, vm) },
        { id: "process", label: _("Running process"), ...process(host, vm) },
    ];
}

// The first failing link, or null when the guest sees (or will see) the extension.
export function firstFailure(chain) {
    return chain.find(link => link.state === FAIL) || null;
}
