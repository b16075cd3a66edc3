// SPDX-License-Identifier: LGPL-2.1-or-later
// A refused change, shown where it was asked for: the daemon's message, and for the refusals an
// admin can act on, what to act on (the VMs that block it, the kernel command line to add).

import { h } from "./dom.js";
import { _, format } from "./i18n.js";
import { ERROR_PREFIX } from "./names.js";
import { alert, list } from "./widgets.js";

function shortName(error) {
    const name = error.name || "";
    return name.startsWith(ERROR_PREFIX) ? name.slice(ERROR_PREFIX.length) : name;
}

function vmLine(vm) {
    const what = vm.Name ? format("$0 ($1 $2)", vm.Name, vm.Manager, vm.Id) : format("$0 $1", vm.Manager, vm.Id);
    return vm.Pid ? format(_("$0, pid $1"), what, vm.Pid) : what;
}

// context: { host, vms, holders, wanted } where holders are ListVMs() rows taken after the
// refusal, vms the VM objects' properties and wanted the value that was asked for.
export function refusal(id, error, context) {
    const { host, vms = [], holders = [], wanted } = context;
    switch (shortName(error)) {
    case "VMsRunning":
        return alert("danger", _("VMs are using KVM, so the module cannot be reloaded."),
                     h("div", null,
                       holders.length
                           ? list(holders.map(([pid, _uid, comm, name, manager, vmid]) =>
                               format(_("$0 ($1, pid $2)"), name || vmid || comm, manager, pid)), { "data-blockers": "" })
                           : h("p", null, error.message),
                       h("p", null, _("Shut them down, then try again; or change it for the next boot only."))),
                     { id, "data-error": "VMsRunning" });
    case "VMsRequireNesting": {
        // The daemon's message names them too: the fallback while the VM objects are not known.
        const requiring = vms.filter(vm => vm.Requires && vm.UsesKVM);
        return alert("danger", _("These VMs are configured to require nesting and would not start with it off:"),
                     h("div", null,
                       requiring.length
                           ? list(requiring.map(vmLine), { "data-blockers": "" })
                           : h("p", null, error.message),
                       h("p", null, _("Hide the extension from them first."))),
                     { id, "data-error": "VMsRequireNesting" });
    }
    case "Builtin":
        return alert("warning", format(_("$0 is built into the kernel and cannot be reloaded."), host.Module),
                     h("div", null,
                       h("p", null, _("Add this to the kernel command line and reboot:")),
                       h("code", { class: "nv-cmdline", "data-cmdline": "" },
                         format("$0.nested=$1", host.Module, wanted ? 1 : 0))),
                     { id, "data-error": "Builtin" });
    case "":
        return alert("danger", _("The change failed."), error.message || String(error), { id, "data-error": "other" });
    default:
        return alert("danger", shortName(error), error.message, { id, "data-error": shortName(error) });
    }
}
