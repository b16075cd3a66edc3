// SPDX-License-Identifier: LGPL-2.1-or-later
// Strings go through cockpit.gettext; outside Cockpit (the unit tests under node) they stay as
// they are.


export function _(text) {
    return typeof cockpit === "undefined" ? text : cockpit.gettext(text);
}

// "$0 of $1" with its arguments, as cockpit.format does.
export function format(template, ...args) {
    return template.replace(/\$([0-9]+)/g, (_match, n) => String(args[Number(n)] ?? ""));
}
