// SPDX-License-Identifier: LGPL-2.1-or-later
// The host: what runs here, the live value and the value after the next boot, with a switch for
// each and the reason a change was refused, in place.

import { h } from "./dom.js";
import { _, format, ngettext, valueText } from "./i18n.js";
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
        loaded: host.ModuleRefCount > 0
            ? format(ngettext("$0 loaded, in use ($1 reference)", "$0 loaded, in use ($1 references)",
                              host.ModuleRefCount), host.Module, host.ModuleRefCount)
            : format(_("$0 loaded, not in use"), host.Module),
        builtin: format(_("$0 built into the kernel"), host.Module),
        "not-loaded": format(_("$0 installed, not loaded"), host.Module),
        unavailable: _("not available for this kernel"),
    };
    return states[host.ModuleState] || host.ModuleState;
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

// The switch for one target of SetNested ("runtime" or "persistent"), the extra content below it and
// the refusal of the last change asked for there.
function nestedSwitch(which, { value, disabled, reason, busyText }, extra, state, actions, context) {
    const id = which === "runtime" ? "nv-now" : "nv-boot";
    const busy = state.busy[which];
    const error = state.errors[which];
    return h("div", null,
             toggle(id, {
                 checked: value === "enabled",
                 label: valueText(value),
                 disabled: disabled || busy,
                 reason: busy ? busyText : reason,
                 onchange: on => actions.setNested(on, which),
             }),
             extra,
             error ? refusal(id + "-error", error, { ...context, wanted: state.wanted[which] }) : null);
}

// state: { busy, errors, wanted }, each by "runtime" and "persistent"; actions: setNested(enabled,
// which), resetPersistent(); priv: { allowed, reason }
export function hostCard(host, state, priv, actions, context) {
    const reason = priv.allowed ? null : priv.reason;
    const loadedOrNot = host.ModuleState === "loaded" || host.ModuleState === "not-loaded";
    const builtin = host.ModuleState === "builtin" ? _("built in: only the kernel command line changes it") : null;
    const nowReason = reason || (loadedOrNot ? null : builtin || _("no KVM module"));
    const ours = host.NestedNextLoadSource === DROPIN;

    const now = nestedSwitch("runtime", {
        value: host.Nested,
        disabled: Boolean(reason) || host.ModuleState === "unavailable",
        reason: nowReason,
        busyText: _("reloading the module…"),
    }, null, state, actions, context);
    const reset = ours
        ? button(_("Remove nestvirt's setting"), {
            id: "nv-reset",
            disabled: Boolean(reason) || state.busy.persistent,
            onclick: () => actions.resetPersistent(),
        })
        : null;
    const boot = nestedSwitch("persistent", {
        value: host.NestedNextLoad,
        disabled: Boolean(reason) || host.Module === "",
        reason: reason || builtin,
        busyText: _("writing the setting…"),
    }, [h("div", { class: "nv-next" }, nextBootText(host)), reset], state, actions, context);

    const warn = warnings(host);
    return card("nv-host", _("Nested virtualization on this machine"),
                descriptionList([
                    [_("CPU"), vendorText(host), "cpu"],
                    [_("Role"), roleText(host), "role"],
                    [_("Module"), moduleText(host), "module"],
                    [_("Now"), now, "now"],
                    [_("After reboot"), boot, "boot"],
                ]),
                warn.length ? alert("warning", _("Warnings"), list(warn), { id: "nv-warnings" }) : null);
}
