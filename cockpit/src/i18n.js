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

// The singular or the plural form for n, through cockpit.ngettext.
export function ngettext(singular, plural, n) {
    if (typeof cockpit === "undefined")
        return n === 1 ? singular : plural;
    return cockpit.ngettext(singular, plural, n);
}

// The words for the values nestvirtd's properties take; an unknown value is shown as it is.
const VALUES = {
    enabled: () => _("on"),
    disabled: () => _("off"),
    invalid: () => _("invalid: the module would fail to load"),
    exposed: () => _("exposed"),
    hidden: () => _("hidden"),
    unknown: () => _("unknown"),
};

export function valueText(value) {
    return Object.hasOwn(VALUES, value) ? VALUES[value]() : String(value);
}
