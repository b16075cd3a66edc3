// SPDX-License-Identifier: LGPL-2.1-or-later
// The host: what runs here, the live value and the value after the next boot, with a switch for
// each and the reason a change was refused, in place.

import { h } from "./dom.js";
import { _, format } from "./i18n.js";
import { card, descriptionList, toggle, alert, button, list } from "./widgets.js";
import { refusal } from "./refusal.js";

const DROPIN = "/etc/modprobe.d/zz-nestvirt.conf";

function vendorText(host) {
    const ext = host.Vendor === "intel" ? "vmx" : host.Vendor === "amd" ? "svm" : null;
    if (!ext)
        return format(_("Unknown CPU vendor ($0)"), host.VendorId || _("none"));
    const name = host.Vendor === "intel" ? "Intel" : "AMD";
    return host.HardwareSupport
        ? format(_("$0, $1 present"), name, ext)
        : format(_("$0, $1 missing"), name, ext);
}

function roleText(host) {
    if (host.Role === "guest")
        return format(_("Guest: this machine is a VM on $0"), host.Hypervisor || _("an unknown hypervisor"));
    return _("Host: bare metal");
}

function moduleText(host) {
    const states = {
        loaded: format(_("$0 loaded, used $1 times"), host.Module, host.ModuleRefCount),
        builtin: format(_("$0 built into the kernel"), host.Module),
        "not-loaded": format(_("$0 installed, not loaded"), host.Module),
        unavailable: _("not available for this kernel"),
    };
    return states[host.ModuleState] || host.ModuleState;
}

const VALUES = {
    enabled: () => _("on"),
    disabled: () => _("off"),
    invalid: () => _("invalid: the module would fail to load"),
    unknown: () => _("unknown"),
};

function valueText(value) {
    return (VALUES[value] || (() => value))();
}

function sourceText(source) {
    if (source === "kernel-command-line")
        return _("the kernel command line");
    if (source === "kernel-default")
        return _("the kernel's default");
    return source;
}

function nextBootText(host) {
    const parts = [
        h("span", { "data-value": host.NestedNextLoad }, valueText(host.NestedNextLoad)),
        " ",
        format(_("(decided by $0)"), sourceText(host.NestedNextLoadSource)),
    ];
    if (host.NestedOverridden && host.NestedOverridden.length)
        parts.push(h("div", { class: "nv-overrides" },
                     format(_("Overrides: $0"), host.NestedOverridden.map(sourceText).join(", "))));
    return parts;
}

function warnings(host) {
    const out = [];
    if (!host.HardwareSupport)
        out.push(_("The CPU does not show its virtualization extension: no VM can use KVM."));
    if (host.ModulesDisabled)
        out.push(_("kernel.modules_disabled is set: the module cannot be reloaded until the next boot."));
    if (host.NestedConflict)
        out.push(_("The settings of nested disagree; the one that decides is shown above."));
    if (host.NestedNextLoad === "invalid")
        out.push(format(_("$0 sets an invalid value: the next load of $1 fails."), sourceText(host.NestedNextLoadSource), host.Module));
    if (host.Nested !== "unknown" && host.NestedNextLoad !== "unknown" && host.NestedNextLoad !== "invalid" &&
        host.Nested !== host.NestedNextLoad)
        out.push(_("The live value and the value after the next boot differ."));
    return out;
}

// state: { busy: {runtime, persistent}, errors: {runtime, persistent} }; actions: setNested(enabled,
// which), resetPersistent(); priv: { allowed, reason }
export function hostCard(host, state, priv, actions, context) {
    const reason = priv.allowed ? null : priv.reason;
    const loadedOrNot = host.ModuleState === "loaded" || host.ModuleState === "not-loaded";
    const nowReason = reason || (loadedOrNot ? null : host.ModuleState === "builtin"
        ? _("built in: only the kernel command line changes it") : _("no KVM module"));
    const ours = host.NestedNextLoadSource === DROPIN;

    const nowSwitch = toggle("nv-now", {
        checked: host.Nested === "enabled",
        label: valueText(host.Nested),
        disabled: Boolean(reason) || state.busy.runtime || host.ModuleState === "unavailable",
        reason: state.busy.runtime ? _("reloading the module…") : nowReason,
        onchange: on => actions.setNested(on, "runtime"),
    });
    const bootSwitch = toggle("nv-boot", {
        checked: host.NestedNextLoad === "enabled",
        label: valueText(host.NestedNextLoad),
        disabled: Boolean(reason) || state.busy.persistent || host.Module === "",
        reason: state.busy.persistent ? _("writing the setting…") : reason,
        onchange: on => actions.setNested(on, "persistent"),
    });
    const reset = ours
        ? button(_("Remove nestvirt's setting"), {
            id: "nv-reset",
            disabled: Boolean(reason) || state.busy.persistent,
            onclick: () => actions.resetPersistent(),
        })
        : null;

    const warn = warnings(host);
    return card("nv-host", _("Nested virtualization on this machine"),
                descriptionList([
                    [_("CPU"), vendorText(host), "cpu"],
                    [_("Role"), roleText(host), "role"],
                    [_("Module"), moduleText(host), "module"],
                    [_("Now"), h("div", null, nowSwitch,
                                 state.errors.runtime ? refusal("nv-now-error", state.errors.runtime, { ...context, wanted: state.wanted.runtime }) : null), "now"],
                    [_("After reboot"), h("div", null, bootSwitch, h("div", { class: "nv-next" }, nextBootText(host)), reset,
                                          state.errors.persistent ? refusal("nv-boot-error", state.errors.persistent, { ...context, wanted: state.wanted.persistent }) : null), "boot"],
                ]),
                warn.length ? alert("warning", _("Warnings"), list(warn), { id: "nv-warnings" }) : null);
}
