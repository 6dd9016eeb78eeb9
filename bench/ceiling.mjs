// What can a float32 sum-of-squared-differences kernel reach on this machine?
// `node bench/ceiling.mjs`: the crate's mse_sum_f32 (dist/simd.wasm) against hand-written wasm
// variants (the same accumulation scheme unrolled per 128-element block; without the TwoSum
// flush; loads only; a flat loop with no flush at all, the upper bound for any compensated
// kernel) and the C kernel of bench/native.mjs built for SSE (128-bit, wasm's width) and
// -march=native. Needs wat2wasm (Debian wabt) and a C compiler; skips what is missing.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { makeData } from "./data.mjs";
import { makeLoop, calibrate, sample, median } from "./timing.mjs";
import { nativeSource } from "./native.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const tmp = mkdtempSync(path.join(os.tmpdir(), "mse-ceiling-"));
process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));

/** WAT for a 4-accumulator f32x4 kernel over 128-element blocks; `flush`: "twosum" | "plain" | "loads". */
function kernelWat(name, flush) {
  const L = [`(func (export "${name}") (param $st i32) (param $a i32) (param $b i32) (param $n i32)`,
    `  (local $end i32) (local $acc0 v128) (local $acc1 v128) (local $acc2 v128) (local $acc3 v128) (local $s v128) (local $c v128) (local $v v128) (local $t v128) (local $bp v128) (local $d v128)`,
    `  (local.set $s (v128.load (local.get $st))) (local.set $c (v128.load offset=16 (local.get $st)))`,
    `  (local.set $end (i32.add (local.get $a) (i32.shl (local.get $n) (i32.const 2))))`,
    `  (block $done (loop $blk (br_if $done (i32.ge_u (local.get $a) (local.get $end)))`];
  for (let k = 0; k < 4; k++) L.push(`    (local.set $acc${k} (v128.const i32x4 0 0 0 0))`);
  for (let s = 0; s < 8; s++) for (let k = 0; k < 4; k++) {
    const off = (s * 16 + k * 4) * 4;
    const la = `(v128.load offset=${off} align=4 (local.get $a))`, lb = `(v128.load offset=${off} align=4 (local.get $b))`;
    L.push(flush === "loads"
      ? `    (local.set $acc${k} (f32x4.add (local.get $acc${k}) (f32x4.add ${la} ${lb})))`
      : `    (local.set $d (f32x4.sub ${la} ${lb})) (local.set $acc${k} (f32x4.add (local.get $acc${k}) (f32x4.mul (local.get $d) (local.get $d))))`);
  }
  const widen = (k) => `(f64x2.add (f64x2.promote_low_f32x4 (local.get $acc${k})) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $acc${k}) (local.get $acc${k}))))`;
  L.push(`    (local.set $v (f64x2.add (f64x2.add ${widen(0)} ${widen(1)}) (f64x2.add ${widen(2)} ${widen(3)})))`);
  if (flush === "twosum") {
    L.push(`    (local.set $t (f64x2.add (local.get $s) (local.get $v))) (local.set $bp (f64x2.sub (local.get $t) (local.get $s)))`,
      `    (local.set $c (f64x2.add (local.get $c) (f64x2.add (f64x2.sub (local.get $s) (f64x2.sub (local.get $t) (local.get $bp))) (f64x2.sub (local.get $v) (local.get $bp)))))`,
      `    (local.set $s (local.get $t))`);
  } else {
    L.push(`    (local.set $s (f64x2.add (local.get $s) (local.get $v)))`);
  }
  L.push(`    (local.set $a (i32.add (local.get $a) (i32.const 512))) (local.set $b (i32.add (local.get $b) (i32.const 512))) (br $blk)))`,
    `  (v128.store (local.get $st) (local.get $s)) (v128.store offset=16 (local.get $st) (local.get $c)))`);
  return L.join("\n");
}

/**
 * WAT for the upper bound of any compensated kernel: one bottom-tested loop of 16-element
 * steps into four f32x4 accumulators, addresses as load offsets, and no flush at all (one
 * plain widening at the end; not accurate, only a speed reference).
 */
function flatWat(name) {
  const L = [`(func (export "${name}") (param $st i32) (param $a i32) (param $b i32) (param $n i32)`,
    `  (local $end i32) (local $acc0 v128) (local $acc1 v128) (local $acc2 v128) (local $acc3 v128) (local $d v128)`,
    `  (local.set $end (i32.add (local.get $a) (i32.shl (local.get $n) (i32.const 2))))`,
    `  (if (i32.lt_u (local.get $a) (local.get $end)) (then (loop $l`];
  for (let k = 0; k < 4; k++) {
    L.push(`    (local.set $d (f32x4.sub (v128.load offset=${16 * k} align=4 (local.get $a)) (v128.load offset=${16 * k} align=4 (local.get $b))))`,
      `    (local.set $acc${k} (f32x4.add (local.get $acc${k}) (f32x4.mul (local.get $d) (local.get $d))))`);
  }
  L.push(`    (local.set $a (i32.add (local.get $a) (i32.const 64))) (local.set $b (i32.add (local.get $b) (i32.const 64)))`,
    `    (br_if $l (i32.lt_u (local.get $a) (local.get $end))))))`,
    `  (v128.store (local.get $st) (f32x4.add (f32x4.add (local.get $acc0) (local.get $acc1)) (f32x4.add (local.get $acc2) (local.get $acc3)))))`);
  return L.join("\n");
}

function buildProto() {
  const wat = `(module (memory (export "memory") 300)\n${kernelWat("blocked_twosum", "twosum")}\n${kernelWat("blocked_plain", "plain")}\n${kernelWat("loads_only", "loads")}\n${flatWat("flat_no_flush")}\n)`;
  const watFile = path.join(tmp, "k.wat"), wasmFile = path.join(tmp, "k.wasm");
  writeFileSync(watFile, wat);
  try { execFileSync("wat2wasm", [watFile, "-o", wasmFile], { stdio: "ignore" }); } catch { return null; }
  return new WebAssembly.Instance(new WebAssembly.Module(readFileSync(wasmFile)), {}).exports;
}

function buildC(flags, tag) {
  const src = path.join(tmp, "k.c"), exe = path.join(tmp, `k-${tag}`);
  writeFileSync(src, nativeSource);
  try { execFileSync(process.env.CC ?? "cc", ["-O3", ...flags, "-std=gnu11", "-o", exe, src], { stdio: "ignore" }); return exe; } catch { return null; }
}

const crateFile = path.join(here, "..", "dist", "simd.wasm");
const crate = existsSync(crateFile) ? new WebAssembly.Instance(new WebAssembly.Module(readFileSync(crateFile)), {}).exports : null;
const proto = buildProto();
const cSse = buildC(["-mno-avx", "-msse4.2"], "sse"), cNative = buildC(["-march=native"], "native");
console.log(`crate: ${crate ? "dist/simd.wasm" : "missing"}; wasm variants: ${proto ? "built" : "no wat2wasm"}; C: ${cSse ? "built" : "no compiler"}`);

for (const n of [4096, 65536, 1 << 20, 1 << 24]) {
  const { input, target } = makeData("float32", n, "uniform");
  const xs = [];
  const naive = (a, b) => { let s = 0; for (let i = 0; i < a.length; i++) { const d = a[i] - b[i]; s += d * d; } return s / a.length; };
  xs.push({ label: "naive JS loop", call: () => naive(input, target) });
  if (crate) {
    const la = crate.mse_alloc(4 * n), lb = crate.mse_alloc(4 * n), ls = crate.mse_alloc(64);
    new Float32Array(crate.memory.buffer, la, n).set(input); new Float32Array(crate.memory.buffer, lb, n).set(target);
    const st = new Float64Array(crate.memory.buffer, ls, 8);
    xs.push({ label: "crate mse_sum_f32 (raw ABI)", call: () => { st.fill(0); crate.mse_sum_f32(ls, la, lb, 0, n); return crate.mse_state_loss(ls); }, free: () => { crate.mse_free(la, 4 * n); crate.mse_free(lb, 4 * n); crate.mse_free(ls, 64); } });
  }
  if (proto) {
    const need = 65536 + 8 * n + 8192;
    if (proto.memory.buffer.byteLength < need) proto.memory.grow(Math.ceil((need - proto.memory.buffer.byteLength) / 65536));
    const pa = 65536, pb = 65536 + 4 * n + 2048;
    new Float32Array(proto.memory.buffer, pa, n).set(input); new Float32Array(proto.memory.buffer, pb, n).set(target);
    for (const [k, label] of [["blocked_twosum", "wasm: same scheme, unrolled 128-blocks"], ["blocked_plain", "wasm: blocks, plain f64 flush"], ["loads_only", "wasm: unrolled blocks, loads + adds only"], ["flat_no_flush", "wasm: flat loop, no flush (upper bound)"]]) {
      const f = proto[k];
      xs.push({ label, call: () => { f(0, pa, pb, n); return 1; } });
    }
  }
  for (const [exe, label] of [[cSse, "C -O3 SSE (128-bit)"], [cNative, "C -O3 -march=native"]]) {
    if (!exe) continue;
    const inner = Math.max(1, Math.round((1 << 21) / n));
    xs.push({ label, sample: () => { const r = spawnSync(exe, [String(n), "5", String(inner)], { encoding: "utf8" }); return median(JSON.parse(r.stdout)); } });
  }
  for (const x of xs) { x.loop = makeLoop(); if (x.call) x.call(); x.reps = calibrate(x, { targetMs: 8 }); x.times = []; }
  const rounds = n >= 1 << 24 ? 5 : 11;
  for (let r = 0; r < rounds; r++) for (let j = 0; j < xs.length; j++) { const x = xs[(j + r) % xs.length]; x.times.push(sample(x, x.reps)); }
  console.log(`\n── ${n} float32 (${rounds} rounds): GB/s of both operands read`);
  for (const x of xs) console.log(`  ${x.label.padEnd(40)} ${(8 * n / (median(x.times) * 1e6)).toFixed(1).padStart(6)} GB/s`);
  for (const x of xs) x.free?.();
}
