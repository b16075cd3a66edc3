// SPDX-License-Identifier: LGPL-2.1-or-later
// Every VM of the host, running or not, from nestvirtd's ObjectManager: what its guest sees now and
// after its next cold start, a switch for the next start, and why it does not see vmx/svm.

import { h, idFor } from "./dom.js";
import { _, format, valueText } from "./i18n.js";
import { card, toggle, label, alert, button } from "./widgets.js";
import { refusal } from "./refusal.js";
import { explainVm, firstFailure, OK, FAIL, SKIP } from "./explain.js";
import { EXPOSE_HOST_MODEL } from "./names.js";

const MANAGERS = {
    proxmox: "Proxmox VE",
    libvirt: "libvirt",
};

function yesNo(value) {
    return value ? _("yes") : _("no");
}

// Sorted as nestvirtctl sorts them: by manager, then by id.
function sortKey(vm) {
    return [vm.Manager, vm.Id.padStart(12, "0")].join(" ");
}

function cell(name, content, attrs = {}) {
    return h("td", { class: "pf-v6-c-table__td", "data-label": name, ...attrs }, content);
}

function chainList(chain) {
    const marks = { [OK]: "✓", [FAIL]: "✗", [SKIP]: "–" };
    return h("ol", { class: "nv-chain" }, chain.map(link =>
        h("li", { "data-link": link.id, "data-state": link.state },
          h("span", { class: "nv-mark", "aria-hidden": "true" }, marks[link.state] || "?"),
          h("span", { class: "pf-v6-screen-reader" }, link.state + ": "),
          h("strong", null, link.label), " ", link.text)));
}

function explanation(host, vm) {
    const chain = explainVm(host, vm);
    const failure = firstFailure(chain);
    const verdict = failure
        ? format(_("Its guest does not see the extension because of: $0."), failure.label)
        : vm.Running
            ? _("Its guest sees the extension.")
            : _("Its guest will see the extension when it starts.");
    return h("div", { class: "nv-explain" },
             h("p", { class: "nv-verdict" }, verdict),
             chainList(chain),
             vm.Notes && vm.Notes.length ? h("ul", { class: "nv-notes" }, vm.Notes.map(n => h("li", null, n))) : null);
}

function row(host, path, vm, state, priv, actions, context) {
    const key = idFor("nv-vm", path);
    const expanded = state.expanded.has(path);
    const managed = vm.Manager === "proxmox" || vm.Manager === "libvirt";
    const busy = state.busy.has(path);
    const reason = !managed
        ? _("not managed: change its command line")
        : vm.Lock ? format(_("locked ($0)"), vm.Lock) : priv.reason;
    const error = state.errors.get(path);
    const name = vm.Name || format("$0 $1", MANAGERS[vm.Manager] || vm.Manager, vm.Id);
    const cols = 9;

    const rowEl = h("tr", { class: "pf-v6-c-table__tr", id: key, "data-path": path, "data-name": vm.Name },
                    h("td", { class: "pf-v6-c-table__td pf-v6-c-table__toggle" },
                      h("button", {
                          class: "pf-v6-c-button pf-m-plain" + (expanded ? " pf-m-expanded" : ""),
                          type: "button",
                          id: key + "-why",
                          "aria-expanded": expanded ? "true" : "false",
                          "aria-controls": key + "-explain",
                          "aria-label": format(_("Why does $0 (not) see vmx/svm?"), name),
                          onclick: () => actions.toggleExpanded(path),
                      }, h("span", { class: "pf-v6-c-table__toggle-icon", "aria-hidden": "true" }, expanded ? "▾" : "▸"))),
                    cell(_("Name"), h("span", { class: "nv-name" }, name), { "data-col": "name" }),
                    cell(_("Manager"), MANAGERS[vm.Manager] || vm.Manager, { "data-col": "manager" }),
                    cell(_("Running"), yesNo(vm.Running), { "data-col": "running" }),
                    cell(_("Now"), valueText(vm.ExposedNow), { "data-col": "now" }),
                    cell(_("Next start"), h("span", null, valueText(vm.NextStart),
                                            vm.Pending ? [" ", label("orange", _("needs a cold restart"), { "data-badge": "pending" })] : null),
                         { "data-col": "next" }),
                    cell(_("Requires"), yesNo(vm.Requires), { "data-col": "requires" }),
                    cell(_("Start"), vm.StartBlocked && vm.StartBlocked !== "none"
                        ? label("red", format(_("blocked: $0"), vm.StartBlocked))
                        : _("ok"), { "data-col": "start" }),
                    cell(_("Hypervisors inside"), toggle(key + "-expose", {
                        checked: vm.NextStart === "exposed",
                        label: vm.NextStart === "exposed" ? _("on") : _("off"),
                        disabled: Boolean(reason) || busy,
                        reason: busy ? _("changing…") : reason,
                        onchange: on => actions.setExposure(path, on, 0),
                    }), { "data-col": "expose" }));

    const extra = [];
    if (error) {
        extra.push(refusal(key + "-error", error, context));
        // Proxmox VE before qemu-server 9.0.27 has no +nested-virt: CPU type host does it.
        if (error.name && error.name.endsWith(".NotSupported") && vm.Manager === "proxmox" && !priv.reason)
            extra.push(button(_("Use CPU type host instead"), {
                id: key + "-host-model",
                onclick: () => actions.setExposure(path, true, EXPOSE_HOST_MODEL),
            }));
    }
    const errorRow = extra.length
        ? h("tr", { class: "pf-v6-c-table__tr nv-row-error" },
            h("td", { class: "pf-v6-c-table__td", colspan: cols }, extra))
        : null;
    const explainRow = h("tr", {
        class: "pf-v6-c-table__tr pf-v6-c-table__expandable-row" + (expanded ? " pf-m-expanded" : ""),
        id: key + "-explain",
        hidden: !expanded,
    }, h("td", { class: "pf-v6-c-table__td", colspan: cols },
         h("div", { class: "pf-v6-c-table__expandable-row-content" }, expanded ? explanation(host, vm) : null)));

    return h("tbody", { class: "pf-v6-c-table__tbody" + (expanded ? " pf-m-expanded" : "") }, rowEl, errorRow, explainRow);
}

export function vmCard(host, vms, state, priv, actions, context) {
    if (!vms.length)
        return card("nv-vms", _("Virtual machines"),
                    h("p", { class: "nv-none" }, _("No VMs: nestvirtd found no Proxmox VE or libvirt VM and no process using KVM.")));
    const sorted = [...vms].sort((a, b) => sortKey(a.vm).localeCompare(sortKey(b.vm)));
    const heads = ["", _("Name"), _("Manager"), _("Running"), _("Now"), _("Next start"), _("Requires"), _("Start"),
        _("Hypervisors inside")];
    return card("nv-vms", _("Virtual machines"),
                h("table", { class: "pf-v6-c-table pf-m-grid-md pf-m-compact", "aria-label": _("Virtual machines") },
                  h("thead", { class: "pf-v6-c-table__thead" },
                    h("tr", { class: "pf-v6-c-table__tr" },
                      heads.map(text => h("th", { class: "pf-v6-c-table__th", scope: "col" }, text)))),
                  sorted.map(({ path, vm }) => row(host, path, vm, state, priv, actions, context))),
                state.lastNote ? alert("info", state.lastNote.title, state.lastNote.body, { id: "nv-vm-note" }) : null);
}
