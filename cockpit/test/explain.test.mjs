// SPDX-License-Identifier: LGPL-2.1-or-later
// The "why does this VM (not) see vmx/svm" chain, on property sets as nestvirtd sends them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { explainVm, firstFailure, OK, FAIL, SKIP } from "../src/explain.js";

const amdHost = {
    Vendor: "amd", VendorId: "AuthenticAMD", Module: "kvm_amd", HardwareSupport: true, Role: "host",
    Hypervisor: "", ModuleState: "loaded", Nested: "enabled",
};
const exposedVm = {
    Manager: "proxmox", Id: "100", Name: "pve-in-pve", Running: true, UsesKVM: true, ExposedNow: "exposed",
    CpuNow: "host", NextStart: "exposed", NextStartBy: "host-model", Cpu: "host", Pending: false,
};

function states(chain) {
    return Object.fromEntries(chain.map(link => [link.id, link.state]));
}

test("a VM that sees svm passes every link", () => {
    const chain = explainVm(amdHost, exposedVm);
    assert.deepEqual(chain.map(l => l.id), ["hardware", "firmware", "module", "host", "config", "process"]);
    assert.ok(chain.every(l => l.state === OK), JSON.stringify(chain));
    assert.equal(firstFailure(chain), null);
});

test("host nesting off is the first failure, before the VM's own links", () => {
    const chain = explainVm({ ...amdHost, Nested: "disabled" }, exposedVm);
    assert.equal(firstFailure(chain).id, "host");
    assert.match(firstFailure(chain).text, /kvm_amd/);
});

test("a hidden configuration and a running process started before the change", () => {
    const vm = { ...exposedVm, NextStart: "hidden", NextStartBy: "none", Cpu: "x86-64-v2-AES", ExposedNow: "hidden", CpuNow: "x86-64-v2-AES", Pending: false };
    const chain = explainVm(amdHost, vm);
    assert.equal(firstFailure(chain).id, "config");
    assert.match(firstFailure(chain).text, /x86-64-v2-AES/);

    const pending = explainVm(amdHost, { ...exposedVm, ExposedNow: "hidden", Pending: true });
    assert.equal(firstFailure(pending).id, "process");
    assert.match(firstFailure(pending).text, /cold restart/);
});

test("Intel without vmx on bare metal blames hardware, then firmware", () => {
    const host = { ...amdHost, Vendor: "intel", Module: "kvm_intel", HardwareSupport: false, ModuleState: "not-loaded" };
    const s = states(explainVm(host, exposedVm));
    assert.equal(s.hardware, FAIL);
    assert.equal(s.firmware, FAIL);
    assert.equal(s.module, FAIL);
});

test("a guest whose hypervisor hides the extension names the hypervisor", () => {
    const host = { ...amdHost, Role: "guest", Hypervisor: "kvm", HardwareSupport: false };
    assert.match(firstFailure(explainVm(host, exposedVm)).text, /VM on kvm/);
});

test("a VM without KVM does not depend on the host", () => {
    const host = { ...amdHost, Nested: "disabled", ModuleState: "unavailable" };
    const chain = explainVm(host, { ...exposedVm, UsesKVM: false });
    const s = states(chain);
    assert.deepEqual([s.hardware, s.firmware, s.module, s.host], [SKIP, SKIP, SKIP, SKIP]);
    assert.equal(firstFailure(chain), null);
});

test("a VM that does not run skips the process link", () => {
    const s = states(explainVm(amdHost, { ...exposedVm, Running: false, ExposedNow: "unknown" }));
    assert.equal(s.process, SKIP);
});
