#!/usr/bin/env node
// Writes test/fixtures/digest.json: the SHA-256 of the results of the cases in
// test/determinism.mjs (API.md's seed examples and a fixed set of generated cases),
// computed by the built library (dist/esm) in Node. test/digest.test.ts checks the same
// digest in Node (both builds) and in Chromium, and the Deno suite checks it in Deno:
// a cross-runtime, cross-build consistency check, not a correctness reference.
//
// Run after a deliberate change of results: `npm run build && node scripts/gen_digest.mjs`.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { repoRoot as root } from "./lib/toolchain.mjs";

const lib = await import(pathToFileURL(path.join(root, "dist", "esm", "index.js")).href);
const { digestOf } = await import(pathToFileURL(path.join(root, "test", "determinism.mjs")).href);

// The library's warnings (size mismatch, legacy arguments) are expected here.
process.removeAllListeners("warning");

await lib.init();
const digest = await digestOf(lib);

const out = {
  comment: "SHA-256 of the results of test/determinism.mjs's cases (float bits, canonical NaN); written by scripts/gen_digest.mjs from dist/esm in Node",
  backend: lib.backend(),
  node: process.versions.node,
  ...digest,
};
const file = path.join(root, "test", "fixtures", "digest.json");
fs.writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
console.log(`wrote ${path.relative(root, file)}: ${digest.cases} cases, sha256 ${digest.sha256}`);
