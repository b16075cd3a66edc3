// SPDX-License-Identifier: LGPL-2.1-or-later
// nestvirtd as the page sees it: the manager object, the VM objects (from its ObjectManager) and
// the findings of Check(). Everything arrives through signals; nothing polls. One callback tells
// the page that something changed, and the page renders from what this holds.

import { BUS_NAME, OBJECT_PATH, INTERFACE, VM_INTERFACE } from "./names.js";


export class NestVirtClient {
    constructor(onchange) {
        this.onchange = onchange;
        this.findings = [];
        this.findingsError = null;
        this.owner = undefined; // undefined: not known yet; null: nestvirtd is not running
        this.problem = null;
        this.checking = null;
        this.checkAgain = false;

        // "try": as the administrator when Cockpit has administrative access, as the user
        // otherwise. Unprivileged callers can read everything; changes go through polkit.
        this.dbus = cockpit.dbus(BUS_NAME, { bus: "system", superuser: "try" });
        this.dbus.addEventListener("close", (_event, options) => {
            this.problem = options.problem || "disconnected";
            this.changed();
        });
        // A new owner is a new instance of nestvirtd: it knows no subscribers.
        this.dbus.addEventListener("owner", (_event, owner) => {
            this.owner = owner;
            if (owner)
                this.subscribe();
            this.changed();
        });

        this.manager = this.dbus.proxy(INTERFACE, OBJECT_PATH);
        this.manager.addEventListener("changed", () => this.changed());
        this.vms = this.dbus.proxies(VM_INTERFACE, OBJECT_PATH);
        for (const event of ["added", "removed", "changed"])
            this.vms.addEventListener(event, () => this.changed());

        this.ready = this.manager.wait().then(() => {
            if (!this.manager.valid)
                this.problem = this.problem || "not-found";
            this.changed();
        });
    }

    subscribe() {
        this.call("Subscribe", "", []).catch(error => {
            console.warn("nestvirt: Subscribe failed:", error.message);
        });
    }

    // The findings depend on the whole host state, so they are asked for again after every
    // change; a change during a Check() asks once more when it returns.
    changed() {
        this.refreshFindings();
        this.onchange();
    }

    refreshFindings() {
        if (!this.manager.valid)
            return;
        if (this.checking) {
            this.checkAgain = true;
            return;
        }
        this.checking = this.call("Check", "", [])
            .then(([findings]) => {
                this.findings = findings.map(([id, level, summary, hint]) => ({ id, level, summary, hint }));
                this.findingsError = null;
            })
            .catch(error => {
                this.findingsError = error;
            })
            .finally(() => {
                this.checking = null;
                if (this.checkAgain) {
                    this.checkAgain = false;
                    this.refreshFindings();
                }
                this.onchange();
            });
    }

    call(method, signature, args, path = OBJECT_PATH, iface = INTERFACE) {
        return this.dbus.call(path, iface, method, args, { type: signature });
    }

    setNested(enabled, flags) {
        return this.call("SetNested", "bt", [enabled, flags]);
    }

    resetPersistent() {
        return this.call("ResetPersistent", "t", [0]);
    }

    setExposure(path, expose, flags) {
        return this.call("SetExposure", "bt", [expose, flags], path, VM_INTERFACE);
    }

    vmList() {
        return Object.keys(this.vms)
            .filter(path => this.vms[path].valid)
            .map(path => ({ path, vm: this.vms[path] }));
    }
}
