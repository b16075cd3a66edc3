// SPDX-License-Identifier: LGPL-2.1-or-later
import js from "@eslint/js";
import globals from "globals";

export default [
    { ignores: ["node_modules/", "dist/"] },
    js.configs.recommended,
    {
        files: ["src/**/*.js"],
        languageOptions: { sourceType: "module", globals: { ...globals.browser, cockpit: "readonly" } },
    },
    {
        files: ["*.mjs", "tests/**/*.mjs"],
        languageOptions: { sourceType: "module", globals: globals.node },
    },
    {
        rules: {
            "no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_$" }],
            eqeqeq: "error",
            "prefer-const": "error",
            "no-var": "error",
        },
    },
];
