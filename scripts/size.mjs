#!/usr/bin/env node
// Size budget for what users download: the two wasm builds, and the gzipped ESM entry
// bundle (dist/esm/index.js plus every module it imports, base64 wasm included), which is
// what a bundler or a browser <script type="module"> pulls in.
// Budgets sit about 25 % above the sizes measured when they were set; raise them only
// with a reason (a new kernel), never to make a regression pass.
//
//   node scripts/size.mjs     print the sizes, exit 1 when one is over budget
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { repoRoot, isMain } from "./lib/toolchain.mjs";

// Set at SIMD 135,488 B, scalar 150,982 B, ESM entry bundle 145,953 B gzipped (Debian
// rustc 1.63, wasm-opt 108). After the padded-tail, strided, leading-axis and finish
// kernels: SIMD 149,335 B, scalar 172,271 B, ESM entry 181,407 B gzipped; then the shipped
// JavaScript lost its comments (the declarations keep theirs): ESM entry 170,485 B; with the
// split_at blocks and the review's fixes: SIMD 150,289 B, scalar 172,860 B, ESM ~172,400 B;
// with the gradient's `out`, the axis walk's loop per operand kind and bulk memory in the
// SIMD build: SIMD 155,155 B, scalar 178,071 B, ESM 174,761 B; with axis results finished
// inside the reduce kernel: SIMD 157,422 B, scalar 178,823 B, ESM 176,963 B; with mseLoss's
// `out`, the direct gradient paths and short rows summed in one block: SIMD 160,335 B, scalar
// 181,475 B, ESM 180,926 B; weighted means by divisor 0: SIMD 159,714 B, scalar 181,314 B,
// ESM 180,258 B.
// (-Os/-Oz on either wasm build was tried: no smaller gzipped.)
export const BUDGETS = {
  simdWasm: 170_000, // bytes, dist/simd.wasm
  scalarWasm: 189_000, // bytes, dist/scalar.wasm
  esmBundleGzip: 182_000, // bytes, gzip -9 of the ESM entry bundle
};

const LABELS = {
  simdWasm: "SIMD wasm (dist/simd.wasm)",
  scalarWasm: "scalar wasm (dist/scalar.wasm)",
  esmBundleGzip: "ESM entry bundle, gzipped (dist/esm/index.js + imports)",
};

const gzipSize = (buf) => zlib.gzipSync(buf, { level: 9 }).length;

/** dist/esm/index.js and every module it reaches through relative static or dynamic imports. */
export function esmBundleFiles(entry = path.join(repoRoot, "dist", "esm", "index.js")) {
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    const src = fs.readFileSync(file, "utf8");
    const re = /(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']+)["']/g;
    for (const m of src.matchAll(re)) visit(path.resolve(path.dirname(file), m[1]));
  };
  visit(entry);
  return [...seen];
}

export function measureSizes() {
  const dist = path.join(repoRoot, "dist");
  const read = (f) => fs.readFileSync(path.join(dist, f));
  const simd = read("simd.wasm");
  const scalar = read("scalar.wasm");
  const files = esmBundleFiles();
  const bundle = Buffer.concat(files.map((f) => fs.readFileSync(f)));
  return {
    simdWasm: { bytes: simd.length, gzip: gzipSize(simd) },
    scalarWasm: { bytes: scalar.length, gzip: gzipSize(scalar) },
    esmBundleGzip: { bytes: gzipSize(bundle), raw: bundle.length, files: files.length },
  };
}

/** One result per budget: { name, ok, message }. */
export function checkSizes(sizes = measureSizes()) {
  return Object.keys(BUDGETS).map((key) => {
    const measured = sizes[key].bytes;
    const budget = BUDGETS[key];
    const ok = measured <= budget;
    return {
      name: `size budget: ${LABELS[key]}`,
      ok,
      message: `${measured} B ${ok ? "<=" : "EXCEEDS"} budget ${budget} B`,
    };
  });
}

export function printSizes(sizes) {
  const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
  console.log("sizes:");
  console.log(`  SIMD wasm      ${sizes.simdWasm.bytes} B (${kib(sizes.simdWasm.bytes)}), gzip ${sizes.simdWasm.gzip} B; budget ${BUDGETS.simdWasm} B`);
  console.log(`  scalar wasm    ${sizes.scalarWasm.bytes} B (${kib(sizes.scalarWasm.bytes)}), gzip ${sizes.scalarWasm.gzip} B; budget ${BUDGETS.scalarWasm} B`);
  console.log(
    `  ESM bundle     ${sizes.esmBundleGzip.raw} B raw in ${sizes.esmBundleGzip.files} files, ` +
      `gzip ${sizes.esmBundleGzip.bytes} B (${kib(sizes.esmBundleGzip.bytes)}); budget ${BUDGETS.esmBundleGzip} B gzipped`,
  );
}

if (isMain(import.meta.url)) {
  const sizes = measureSizes();
  printSizes(sizes);
  const results = checkSizes(sizes);
  for (const r of results) if (!r.ok) console.error(`FAIL ${r.name}: ${r.message}`);
  process.exit(results.every((r) => r.ok) ? 0 : 1);
}
