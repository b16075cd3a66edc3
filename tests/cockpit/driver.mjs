// SPDX-License-Identifier: LGPL-2.1-or-later
// Browser driver of the cockpit tier: one headless Chromium (Debian's /usr/bin/chromium, driven
// by playwright-core), steered by JSON commands, one a line on standard input. Every command
// gets exactly one answer, one JSON line on standard output, in order:
//
//     {"id": 3, "cmd": "wait", "selector": "#vendor", "text": "AMD", "timeout": 10000}
//     {"id": 3, "ok": true, "value": "AuthenticAMD"}
//     {"id": 3, "ok": false, "error": "timed out after 10000 ms waiting for ..."}
//
// "id" is echoed back (null when missing). Selectors are Playwright selectors (CSS unless
// prefixed: "text=", "role=", ...); when one matches several elements the first is used.
// "timeout" is in milliseconds (default 10000) and bounds the whole command.
//
//   goto {url, waitUntil?}                 load a page ("load" by default); value: HTTP status
//   wait {selector, state?, text?, exact?} until the element is visible (state: "visible",
//                                          "attached", "hidden", "detached"), and with text
//                                          until its text contains text (exact: equals it,
//                                          trimmed); value: its text (null when hidden)
//   wait_function {expression, arg?}       until the expression (or a function source, called
//                                          with arg) is truthy; value: that value. Polled with
//                                          page.evaluate, which Cockpit's CSP lets through
//   click {selector}                       click the element (after it is visible and enabled)
//   press {key, selector?}                 press a key ("Enter", "Tab", "Control+a") on the
//                                          element, or on the page when no selector
//   fill {selector, value}                 set an input's value as typing would
//   text {selector}                        its textContent
//   attribute {selector, name}             the attribute's value, null when absent
//   checked {selector}, disabled {selector}  booleans, as Playwright's isChecked/isDisabled
//   count {selector}                       how many elements match, now
//   evaluate {expression, arg?}            evaluate in the page: an expression, or a function
//                                          source called with arg; value: its JSON result
//                                          (promises are awaited)
//   color_scheme {scheme}                  "light", "dark" or "no-preference"
//   viewport {width, height}
//   screenshot {path, fullPage?, selector?}  write a PNG
//   errors {clear?}                        {console, pageerrors, requestfailed, http}: the
//                                          console errors, uncaught exceptions, requests that
//                                          failed and responses with status >= 400 since the
//                                          page was opened (or the last clear)
//   console {clear?}                       every console message so far, with its type
//   reset {}                               close the page and its context (cookies, storage)
//                                          and open fresh ones with the same color scheme and
//                                          viewport
//   quit {}                                close the browser and exit 0
//
// Environment: CHROMIUM (default /usr/bin/chromium), NESTVIRT_NODE_MODULES (a node_modules
// directory holding playwright-core; default the one beside this file), DRIVER_HEADED=1 (show
// the window, for debugging with a display). Diagnostics go to standard error.

import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const modules = process.env.NESTVIRT_NODE_MODULES || path.join(here, 'node_modules');
const require = createRequire(path.join(modules, 'index.js'));
let playwright;
try {
    playwright = require('playwright-core');
} catch (e) {
    process.stderr.write(`driver.mjs: cannot load playwright-core from ${modules}: ${e.message}\n` +
                         'Run "npm ci" in tests/cockpit (tools/install-deps.sh does).\n');
    process.exit(2);
}

const DEFAULT_TIMEOUT = 10000;
const POLL_MS = 50;

let browser = null;
let context = null;
let page = null;
let scheme = 'light';
let viewport = { width: 1280, height: 800 };
let collected = null;

function log(msg) {
    process.stderr.write(`driver.mjs: ${msg}\n`);
}

function emptyCollection() {
    return { console: [], pageerrors: [], requestfailed: [], http: [], all: [] };
}

function where(msg) {
    const loc = msg.location();
    return loc && loc.url ? `${loc.url}:${loc.lineNumber}:${loc.columnNumber}` : '';
}

async function openPage() {
    context = await browser.newContext({ colorScheme: scheme, viewport });
    page = await context.newPage();
    collected = emptyCollection();
    page.on('console', msg => {
        const entry = { type: msg.type(), text: msg.text(), location: where(msg) };
        collected.all.push(entry);
        if (msg.type() === 'error')
            collected.console.push(entry);
    });
    page.on('pageerror', err => {
        collected.pageerrors.push({ message: err.message, stack: err.stack || '' });
    });
    page.on('requestfailed', req => {
        const failure = req.failure();
        collected.requestfailed.push({ url: req.url(), method: req.method(),
                                       error: failure ? failure.errorText : 'unknown' });
    });
    page.on('response', resp => {
        if (resp.status() >= 400)
            collected.http.push({ url: resp.url(), status: resp.status() });
    });
    page.on('crash', () => {
        collected.pageerrors.push({ message: 'the page crashed', stack: '' });
    });
}

async function launch() {
    const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
    const args = ['--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
                  '--disable-background-networking', '--disable-component-update',
                  '--disable-default-apps', '--disable-sync', '--metrics-recording-only',
                  '--password-store=basic', '--use-mock-keychain'];
    // Chromium refuses to run as root with its sandbox.
    if (process.getuid && process.getuid() === 0)
        args.push('--no-sandbox');
    browser = await playwright.chromium.launch({
        executablePath, headless: process.env.DRIVER_HEADED !== '1', args, timeout: 60000,
    });
    await openPage();
}

function need(cmd, name) {
    if (cmd[name] === undefined || cmd[name] === null)
        throw new Error(`${cmd.cmd}: missing "${name}"`);
    return cmd[name];
}

function locator(cmd) {
    return page.locator(need(cmd, 'selector')).first();
}

function sleep(ms) {
    return new Promise(resolve => setTimeout(resolve, ms));
}

// A function from source text: "x => x.a", "function (x) {...}", or an expression body.
function callable(source) {
    const s = source.trim();
    if (/^(async\s+)?(function\b|\([^)]*\)\s*=>|[A-Za-z_$][\w$]*\s*=>)/.test(s))
        return s;
    return null;
}

async function waitText(cmd, timeout) {
    const selector = need(cmd, 'selector');
    const text = String(need(cmd, 'text'));
    const exact = !!cmd.exact;
    const deadline = Date.now() + timeout;
    let last = null;
    let lastError = null;
    for (;;) {
        try {
            const loc = page.locator(selector).first();
            if (await loc.count() > 0 && await loc.isVisible()) {
                last = await loc.textContent({ timeout: 1000 });
                const t = last === null ? '' : last;
                if (exact ? t.trim() === text : t.includes(text))
                    return last;
            } else {
                last = null;
            }
            lastError = null;
        } catch (e) {
            lastError = e.message.split('\n')[0];
        }
        if (Date.now() >= deadline) {
            const seen = last === null
                ? (lastError ? `last error: ${lastError}` : 'no visible element matched')
                : `its text was ${JSON.stringify(last)}`;
            throw new Error(`timed out after ${timeout} ms waiting for ` +
                            `${JSON.stringify(selector)} ` +
                            `to ${exact ? 'have the text' : 'contain the text'} ` +
                            `${JSON.stringify(text)}; ${seen}`);
        }
        await sleep(POLL_MS);
    }
}

function timeoutMessage(e, what, timeout) {
    if (e && e.name === 'TimeoutError')
        return new Error(`timed out after ${timeout} ms waiting for ${what}`);
    return e;
}

const commands = {
    async goto(cmd, timeout) {
        const url = need(cmd, 'url');
        try {
            const resp = await page.goto(url, { timeout, waitUntil: cmd.waitUntil || 'load' });
            return resp ? resp.status() : null;
        } catch (e) {
            throw timeoutMessage(e, `${url} to load`, timeout);
        }
    },

    async wait(cmd, timeout) {
        if (cmd.text !== undefined && cmd.text !== null)
            return await waitText(cmd, timeout);
        const state = cmd.state || 'visible';
        const loc = locator(cmd);
        try {
            await loc.waitFor({ state, timeout });
        } catch (e) {
            throw timeoutMessage(e, `${JSON.stringify(cmd.selector)} to be ${state}`, timeout);
        }
        if (state === 'visible' || state === 'attached')
            return await loc.textContent({ timeout });
        return null;
    },

    async wait_function(cmd, timeout) {
        // Polled from here, one page.evaluate a turn: Playwright's own waitForFunction polls
        // with eval inside the page, which Cockpit's CSP (no 'unsafe-eval') refuses.
        const source = need(cmd, 'expression');
        const fn = callable(source);
        const expression = fn ? `(${fn})(${JSON.stringify(cmd.arg ?? null)})` : source;
        const deadline = Date.now() + timeout;
        let last;
        for (;;) {
            try {
                last = await page.evaluate(expression);
                if (last)
                    return last;
                last = `it was ${JSON.stringify(last)}`;
            } catch (e) {
                last = `last error: ${e.message.split('\n')[0]}`;
            }
            if (Date.now() >= deadline)
                throw new Error(`timed out after ${timeout} ms waiting for ` +
                                `${JSON.stringify(source)} to be true; ${last}`);
            await sleep(POLL_MS);
        }
    },

    async click(cmd, timeout) {
        try {
            await locator(cmd).click({ timeout });
        } catch (e) {
            throw timeoutMessage(e, `${JSON.stringify(cmd.selector)} to be clickable`, timeout);
        }
        return null;
    },

    async press(cmd, timeout) {
        const key = need(cmd, 'key');
        try {
            if (cmd.selector)
                await locator(cmd).press(key, { timeout });
            else
                await page.keyboard.press(key);
        } catch (e) {
            throw timeoutMessage(e, `${JSON.stringify(cmd.selector)} to take the key ${key}`,
                                 timeout);
        }
        return null;
    },

    async fill(cmd, timeout) {
        try {
            await locator(cmd).fill(String(need(cmd, 'value')), { timeout });
        } catch (e) {
            throw timeoutMessage(e, `${JSON.stringify(cmd.selector)} to be editable`, timeout);
        }
        return null;
    },

    async text(cmd, timeout) {
        try {
            return await locator(cmd).textContent({ timeout });
        } catch (e) {
            throw timeoutMessage(e, `${JSON.stringify(cmd.selector)} to exist`, timeout);
        }
    },

    async attribute(cmd, timeout) {
        try {
            return await locator(cmd).getAttribute(need(cmd, 'name'), { timeout });
        } catch (e) {
            throw timeoutMessage(e, `${JSON.stringify(cmd.selector)} to exist`, timeout);
        }
    },

    async checked(cmd, timeout) {
        try {
            return await locator(cmd).isChecked({ timeout });
        } catch (e) {
            throw timeoutMessage(e, `${JSON.stringify(cmd.selector)} to exist`, timeout);
        }
    },

    async disabled(cmd, timeout) {
        try {
            return await locator(cmd).isDisabled({ timeout });
        } catch (e) {
            throw timeoutMessage(e, `${JSON.stringify(cmd.selector)} to exist`, timeout);
        }
    },

    async count(cmd) {
        return await page.locator(need(cmd, 'selector')).count();
    },

    async evaluate(cmd) {
        const source = need(cmd, 'expression');
        const fn = callable(source);
        if (fn)
            return await page.evaluate(`(${fn})(${JSON.stringify(cmd.arg ?? null)})`);
        return await page.evaluate(source);
    },

    async color_scheme(cmd) {
        const s = need(cmd, 'scheme');
        if (!['light', 'dark', 'no-preference'].includes(s))
            throw new Error(`color_scheme: unknown scheme ${JSON.stringify(s)}`);
        scheme = s;
        await page.emulateMedia({ colorScheme: s });
        return null;
    },

    async viewport(cmd) {
        viewport = { width: Number(need(cmd, 'width')), height: Number(need(cmd, 'height')) };
        await page.setViewportSize(viewport);
        return null;
    },

    async screenshot(cmd, timeout) {
        const file = need(cmd, 'path');
        if (cmd.selector)
            await locator(cmd).screenshot({ path: file, timeout, animations: 'disabled' });
        else
            await page.screenshot({ path: file, fullPage: !!cmd.fullPage, timeout,
                                    animations: 'disabled' });
        return file;
    },

    async errors(cmd) {
        const { console, pageerrors, requestfailed, http } = collected;
        const value = { console, pageerrors, requestfailed, http };
        if (cmd.clear) {
            const all = collected.all;
            collected = emptyCollection();
            collected.all = all;
        }
        return value;
    },

    async console(cmd) {
        const value = collected.all;
        if (cmd.clear)
            collected.all = [];
        return value;
    },

    async reset() {
        await context.close();
        await openPage();
        return null;
    },
};

async function handle(cmd) {
    const name = cmd.cmd;
    if (!Object.prototype.hasOwnProperty.call(commands, name))
        throw new Error(`unknown command ${JSON.stringify(name)}`);
    const timeout = Number(cmd.timeout ?? DEFAULT_TIMEOUT);
    // A hard bound on top of Playwright's own: every command is answered.
    let timer;
    const bound = new Promise((_, reject) => {
        const limit = timeout + 2000;
        timer = setTimeout(() => reject(new Error(`${name} did not finish within ${limit} ms`)),
                           limit);
    });
    try {
        return await Promise.race([commands[name](cmd, timeout), bound]);
    } finally {
        clearTimeout(timer);
    }
}

function answer(obj) {
    process.stdout.write(JSON.stringify(obj) + '\n');
}

async function main() {
    try {
        await launch();
    } catch (e) {
        answer({ id: null, ok: false, error: `cannot start the browser: ${e.message}` });
        process.exit(1);
    }
    answer({ id: null, ok: true, value: { ready: true, version: browser.version() } });

    const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
    for await (const line of lines) {
        if (!line.trim())
            continue;
        let cmd;
        try {
            cmd = JSON.parse(line);
        } catch (e) {
            answer({ id: null, ok: false, error: `not JSON: ${e.message}` });
            continue;
        }
        const id = cmd.id ?? null;
        if (cmd.cmd === 'quit') {
            answer({ id, ok: true, value: null });
            break;
        }
        try {
            const value = await handle(cmd);
            answer({ id, ok: true, value: value === undefined ? null : value });
        } catch (e) {
            answer({ id, ok: false, error: e.message });
        }
    }
    try {
        await browser.close();
    } catch (e) {
        log(`closing the browser: ${e.message}`);
    }
    process.exit(0);
}

main();
