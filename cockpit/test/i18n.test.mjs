// SPDX-License-Identifier: LGPL-2.1-or-later
// The words the page shows for nestvirtd's values (host card and VM table share them).
import { test } from "node:test";
import assert from "node:assert/strict";
import { valueText } from "../src/i18n.js";

test("known values have words, unknown ones are shown as they are", () => {
    assert.equal(valueText("enabled"), "on");
    assert.equal(valueText("disabled"), "off");
    assert.equal(valueText("exposed"), "exposed");
    assert.match(valueText("invalid"), /fail to load/);
    assert.equal(valueText("something-new"), "something-new");
    assert.equal(valueText("constructor"), "constructor");
});
