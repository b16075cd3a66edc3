// SPDX-License-Identifier: LGPL-2.1-or-later
// The page: state from nestvirtd (client.js), rendered whenever a signal says something changed.
// Changes are method calls; their effect comes back as signals like anyone else's.

import "./index.css";
import { h, replace } from "./dom.js";
import { _, format } from "./i18n.js";
import { followTheme } from "./theme.js";
import { NestVirtClient } from "./client.js";
import { Privileges } from "./privileges.js";
import { hostCard } from "./host-card.js";
import { findingsCard } from "./findings.js";
import { vmCard } from "./vm-table.js";
import { alert } from "./widgets.js";
import { SET_RUNTIME, SET_PERSISTENT, SYSLOG_IDENTIFIER, ERROR_PREFIX } from "./names.js";


const ui = {
    host: { busy: {}, errors: {}, wanted: {} },
    vms: { busy: new Set(), errors: new Map(), expanded: new Set(), lastNote: null },
    holders: [],
};

let scheduled = false;
function render() {
    if (scheduled)
        return;
    scheduled = true;
    queueMicrotask(() => {
        scheduled = false;
        draw();
    });
}

const privileges = new Privileges(render);
const client = new NestVirtClient(render);

function privilegeState() {
    if (privileges.allowed)
        return { allowed: true, reason: null };
    return {
        allowed: false,
        reason: privileges.deciding ? _("checking access…") : _("needs administrative access"),
    };
}

function context() {
    return { host: client.manager, vms: client.vmList().map(({ vm }) => vm), holders: ui.holders };
}

// modprobe.d does not apply to a built-in module, so a persistent SetNested would write a file that
// changes nothing: show the kernel command line to add instead, as the runtime refusal does.
function builtinRefusal() {
    const error = new Error(format(_("$0 is built into the kernel: modprobe.d does not apply to it."),
                                   client.manager.Module));
    error.name = ERROR_PREFIX + "Builtin";
    return error;
}

async function setNested(enabled, which) {
    const flag = which === "runtime" ? SET_RUNTIME : SET_PERSISTENT;
    ui.host.wanted[which] = enabled;
    if (which === "persistent" && client.manager.ModuleState === "builtin") {
        ui.host.errors[which] = builtinRefusal();
        render();
        return;
    }
    ui.host.busy[which] = true;
    ui.host.errors[which] = null;
    render();
    try {
        await client.setNested(enabled, flag);
    } catch (error) {
        // Who holds the module, as the daemon sees it right after refusing.
        if (error.name && error.name.endsWith(".VMsRunning"))
            ui.holders = await client.call("ListVMs", "", []).then(([vms]) => vms, () => []);
        ui.host.errors[which] = error;
    } finally {
        ui.host.busy[which] = false;
        render();
    }
}

async function resetPersistent() {
    ui.host.busy.persistent = true;
    ui.host.errors.persistent = null;
    render();
    try {
        await client.resetPersistent();
    } catch (error) {
        ui.host.errors.persistent = error;
    } finally {
        ui.host.busy.persistent = false;
        render();
    }
}

async function setExposure(path, expose, flags) {
    ui.vms.busy.add(path);
    ui.vms.errors.delete(path);
    ui.vms.lastNote = null;
    render();
    try {
        const [nextStart, restartNeeded, notes] = await client.setExposure(path, expose, flags);
        const vm = client.vms[path];
        const name = (vm && vm.Name) || path;
        if (restartNeeded || notes.length)
            ui.vms.lastNote = {
                title: restartNeeded
                    ? format(_("$0: $1 from its next cold start (a reboot inside the guest is not enough)."), name, nextStart)
                    : format(_("$0: $1 from its next start."), name, nextStart),
                body: notes.length ? h("ul", null, notes.map(n => h("li", null, n))) : null,
            };
    } catch (error) {
        ui.vms.errors.set(path, error);
    } finally {
        ui.vms.busy.delete(path);
        render();
    }
}

function toggleExpanded(path) {
    if (ui.vms.expanded.has(path))
        ui.vms.expanded.delete(path);
    else
        ui.vms.expanded.add(path);
    render();
}

function journalLink() {
    const target = "/system/logs#/?priority=notice&tag=" + SYSLOG_IDENTIFIER;
    return h("p", { class: "nv-journal" },
             h("a", {
                 href: "#",
                 id: "nv-journal",
                 "data-target": target,
                 onclick: event => {
                     event.preventDefault();
                     cockpit.jump(target);
                 },
             }, _("Changes made through nestvirtd, in the journal")));
}

function unavailable() {
    const problem = client.problem;
    const text = problem === "not-found" || problem === "not-installed"
        ? _("nestvirtd is not installed or cannot be started on this machine.")
        : format(_("nestvirtd cannot be reached ($0)."), problem);
    return alert("danger", _("nestvirtd is not available"), text, { id: "nv-unavailable" });
}

function draw() {
    const app = document.getElementById("app");
    const host = client.manager;
    if (!host.valid) {
        replace(app, client.problem ? unavailable() : h("p", { class: "nv-loading" }, _("Loading…")));
        return;
    }
    const priv = privilegeState();
    const vms = client.vmList();
    replace(app,
            priv.allowed ? null
                : alert("info", _("Limited access"),
                        _("You can see everything; turn on administrative access to change it."), { id: "nv-limited" }),
            hostCard(host, ui.host, priv, { setNested, resetPersistent }, context()),
            findingsCard(client.findings, client.findingsError),
            vmCard(host, vms, ui.vms, priv, { setExposure, toggleExpanded }, context()),
            journalLink());
    document.body.dataset.ready = "true";
}

followTheme();
cockpit.translate();
render();
