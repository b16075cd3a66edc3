// SPDX-License-Identifier: LGPL-2.1-or-later
// A tiny element builder: the page is small enough that plain DOM beats a framework.

// h("div", { class: "x", onclick: fn }, child, [children], "text")
export function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
        if (value === undefined || value === null || value === false)
            continue;
        if (key.startsWith("on"))
            el.addEventListener(key.slice(2), value);
        else if (key === "checked" || key === "disabled")
            el[key] = Boolean(value);
        else
            el.setAttribute(key, value === true ? "" : String(value));
    }
    append(el, children);
    return el;
}

function append(el, children) {
    for (const child of children) {
        if (child === undefined || child === null || child === false)
            continue;
        if (Array.isArray(child))
            append(el, child);
        else
            el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
}

// Replaces a container's content, keeping keyboard focus on the control with the same id, so a
// signal arriving while the admin tabs through the page does not throw them back to the top.
export function replace(container, ...children) {
    const focused = document.activeElement && container.contains(document.activeElement)
        ? document.activeElement.id
        : null;
    container.replaceChildren();
    append(container, children);
    if (focused) {
        const again = document.getElementById(focused);
        if (again)
            again.focus();
    }
}

// A stable id from any string (object paths, finding ids).
export function idFor(prefix, key) {
    return prefix + "-" + String(key).replace(/[^A-Za-z0-9_-]/g, "_");
}
