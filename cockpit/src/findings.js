// SPDX-License-Identifier: LGPL-2.1-or-later
// The findings of Check(): what an admin should know, each with what to do about it.

import { h, idFor } from "./dom.js";
import { _ } from "./i18n.js";
import { card, label, alert } from "./widgets.js";

const LEVELS = {
    error: ["red", () => _("error")],
    warning: ["orange", () => _("warning")],
    info: ["blue", () => _("info")],
};

export function findingsCard(findings, error) {
    if (error)
        return card("nv-findings", _("Checks"), alert("danger", _("Check() failed"), error.message));
    if (!findings.length)
        return card("nv-findings", _("Checks"), h("p", { class: "nv-none" }, _("Nothing to report.")));
    return card("nv-findings", _("Checks"),
                h("ul", { class: "nv-findings" }, findings.map(f => {
                    const [color, text] = LEVELS[f.level] || ["grey", () => f.level];
                    return h("li", { id: idFor("nv-finding", f.id), "data-level": f.level },
                             label(color, text()), " ",
                             h("span", { class: "nv-summary" }, f.summary),
                             f.hint ? h("p", { class: "nv-hint" }, f.hint) : null);
                })));
}
