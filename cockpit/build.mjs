// SPDX-License-Identifier: LGPL-2.1-or-later
// Builds the Cockpit package into OUTDIR: index.html, manifest.json, one script, one style sheet
// and PatternFly's fonts. cockpit.js is not bundled: Cockpit serves its own at ../base1/.
//
//   node build.mjs --outdir DIR --nestvirtd PATH
//
// PATH is where nestvirtd is installed; the manifest shows the page only where it exists.

import { build } from "esbuild";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { outdir: { type: "string" }, nestvirtd: { type: "string" } } });
if (!values.outdir || !values.nestvirtd) {
    console.error("usage: node build.mjs --outdir DIR --nestvirtd PATH");
    process.exit(2);
}

await mkdir(values.outdir, { recursive: true });
await build({
    entryPoints: [join(here, "src", "index.js")],
    outdir: values.outdir,
    bundle: true,
    format: "iife",
    target: ["es2020"],
    minify: true,
    sourcemap: "linked",
    legalComments: "linked",
    loader: { ".woff2": "file", ".svg": "file", ".png": "file", ".jpg": "file" },
    assetNames: "assets/[name]-[hash]",
    logLevel: "warning",
});
await copyFile(join(here, "src", "index.html"), join(values.outdir, "index.html"));
const manifest = await readFile(join(here, "src", "manifest.json.in"), "utf8");
await writeFile(join(values.outdir, "manifest.json"), manifest.replaceAll("@NESTVIRTD@", values.nestvirtd));
