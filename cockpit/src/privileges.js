// SPDX-License-Identifier: LGPL-2.1-or-later
// Whether this session may change anything: root, or Cockpit's administrative access turned on
// ("superuser"). Without it every control is disabled with the reason; reading needs nothing.


export class Privileges {
    constructor(onchange) {
        this.onchange = onchange;
        this.root = false;
        this.current = "init";
        cockpit.user().then(user => {
            this.root = user.id === 0;
            this.onchange();
        });
        // The bridge's own interface: Current is "none" in limited access mode, "init" while
        // it is being decided, otherwise the superuser bridge in use.
        const internal = cockpit.dbus(null, { bus: "internal" });
        this.superuser = internal.proxy("cockpit.Superuser", "/superuser");
        this.superuser.addEventListener("changed", () => {
            this.current = this.superuser.Current;
            this.onchange();
        });
        this.superuser.wait().then(() => {
            if (this.superuser.valid)
                this.current = this.superuser.Current;
            this.onchange();
        });
    }

    get allowed() {
        return this.root || (this.current !== "none" && this.current !== "init" && this.current !== undefined);
    }

    get deciding() {
        return !this.root && this.current === "init";
    }
}
