// SPDX-License-Identifier: LGPL-2.1-or-later
// PatternFly's markup for the few components the page uses.

import { h } from "./dom.js";
import { _ } from "./i18n.js";

export function card(id, title, ...body) {
    return h("section", { class: "pf-v6-c-card", id, "aria-labelledby": id + "-title" },
             h("div", { class: "pf-v6-c-card__title" },
               h("h2", { class: "pf-v6-c-card__title-text", id: id + "-title" }, title)),
             h("div", { class: "pf-v6-c-card__body" }, ...body));
}

export function descriptionList(rows, { id } = {}) {
    return h("dl", { class: "pf-v6-c-description-list pf-m-horizontal", id },
             rows.filter(Boolean).map(([term, value, key]) =>
                 h("div", { class: "pf-v6-c-description-list__group", "data-field": key },
                   h("dt", { class: "pf-v6-c-description-list__term" },
                     h("span", { class: "pf-v6-c-description-list__text" }, term)),
                   h("dd", { class: "pf-v6-c-description-list__description" },
                     h("div", { class: "pf-v6-c-description-list__text" }, value)))));
}

// A switch is a checkbox with role=switch: Space toggles it, Tab reaches it. A disabled one says
// why next to it (and to screen readers through aria-describedby).
export function toggle(id, { checked, label, disabled, reason, onchange }) {
    const reasonId = reason ? id + "-reason" : undefined;
    return h("span", { class: "nv-toggle" },
             h("label", { class: "pf-v6-c-switch" + (disabled ? " pf-m-disabled" : ""), for: id },
               h("input", {
                   class: "pf-v6-c-switch__input",
                   type: "checkbox",
                   role: "switch",
                   id,
                   checked,
                   disabled,
                   "aria-describedby": reasonId,
                   onchange: event => onchange(event.target.checked),
               }),
               h("span", { class: "pf-v6-c-switch__toggle" }),
               h("span", { class: "pf-v6-c-switch__label", "aria-hidden": "true" }, label)),
             reason ? h("span", { class: "nv-reason pf-v6-c-helper-text__item-text", id: reasonId }, reason) : null);
}

const ALERT_TITLES = {
    danger: () => _("Error:"),
    warning: () => _("Warning:"),
    info: () => _("Information:"),
    success: () => _("Success:"),
};

export function alert(variant, title, body, attrs = {}) {
    return h("div", { class: "pf-v6-c-alert pf-m-inline pf-m-plain pf-m-" + variant, ...attrs },
             h("p", { class: "pf-v6-c-alert__title" },
               h("span", { class: "pf-v6-screen-reader" }, ALERT_TITLES[variant]()), title),
             body ? h("div", { class: "pf-v6-c-alert__description" }, body) : null);
}

export function label(color, text, attrs = {}) {
    return h("span", { class: "pf-v6-c-label pf-m-compact pf-m-" + color, ...attrs },
             h("span", { class: "pf-v6-c-label__content" },
               h("span", { class: "pf-v6-c-label__text" }, text)));
}

export function button(text, attrs) {
    return h("button", { type: "button", class: "pf-v6-c-button pf-m-link pf-m-inline", ...attrs },
             h("span", { class: "pf-v6-c-button__text" }, text));
}

export function list(items, attrs = {}) {
    return h("ul", { class: "pf-v6-c-list", ...attrs }, items.map(item => h("li", null, item)));
}
