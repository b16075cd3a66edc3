// SPDX-License-Identifier: LGPL-2.1-or-later
// Light or dark, as Cockpit's shell says: its "shell:style" setting ("light", "dark" or "auto")
// lives in localStorage, which this page shares with the shell; "auto" follows the browser.

const DARK_CLASS = "pf-v6-theme-dark";
const media = window.matchMedia("(prefers-color-scheme: dark)");

function apply() {
    const style = window.localStorage.getItem("shell:style") || "auto";
    const dark = style === "dark" || (style !== "light" && media.matches);
    document.documentElement.classList.toggle(DARK_CLASS, dark);
}

export function followTheme() {
    apply();
    media.addEventListener("change", apply);
    window.addEventListener("storage", event => {
        if (event.key === "shell:style")
            apply();
    });
    // The shell also tells its frames directly when the style changes.
    window.addEventListener("cockpit-style", apply);
}
