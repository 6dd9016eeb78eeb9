// Where does mse-wasm's time go? Focused micro-measurements beside the benchmark
// (`node bench/probe.mjs [--sizes=16,256,...] [--rounds=N]`): the raw C ABI with no facade
// (the ceiling), the fixed cost of one call into wasm, copy-in strategies for JS-heap arrays,
// and the public facade, all interleaved like bench/run.mjs. Prints a table; writes nothing.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { makeData } from "./data.mjs";
import { makeLoop, calibrate, sample, median, medianRatio } from "./timing.mjs";
import { naiveMeanF32, naiveLossGradF32 } from "./contenders.mjs";
import { sizeLabel, fmtTime } from "./report.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const option = (name) => args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const sizes = option("sizes")?.split(",").map(Number) ?? [16, 256, 4096, 65536, 1 << 20, 1 << 24];
const rounds = Number(option("rounds")) || 15;
const sections = option("only")?.split(",") ?? ["overhead", "align", "sizes"];

function loadRaw() {
  const candidates = [path.join(here, "..", "dist", "simd.wasm"), path.join(here, "..", "target", "simd", "wasm32-unknown-unknown", "release", "mse_wasm.wasm")];
  const file = candidates.find((f) => existsSync(f));
  if (!file) throw new Error("no SIMD wasm build found (dist/simd.wasm or target/simd/...)");
  const inst = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(file)), {});
  return { ex: inst.exports, file: path.relative(path.join(here, ".."), file) };
}

const { ex, file } = loadRaw();
let lib = null;
const entry = path.join(here, "..", "dist", "esm", "index.js");
if (existsSync(entry)) { lib = await import(pathToFileURL(entry).href); await lib.init(); }
console.log(`raw module: ${file}; facade: ${lib ? `dist/esm (${lib.backend()})` : "not built"}`);

const CHUNK_SMALL = 4096, CHUNK_BIG = 16384;   // float32 elements: 16 KiB and 64 KiB per operand

/** Median ns per call of small operations (boundary crossings, views, copies). */
function overhead() {
  const state = ex.mse_alloc(64), pa = ex.mse_alloc(64), pb = ex.mse_alloc(64);
  const mem = ex.memory;
  const f64 = new Float64Array(mem.buffer), f32 = new Float32Array(mem.buffer);
  const { input: a, target: b } = makeData("float32", 16, "uniform");
  f32.set(a, pa >>> 2); f32.set(b, pb >>> 2);
  const s8 = state >>> 3;
  const simd = ex.mse_simd, sum = ex.mse_sum_f32, loss = ex.mse_state_loss;
  const zero8 = () => { f64[s8] = 0; f64[s8 + 1] = 0; f64[s8 + 2] = 0; f64[s8 + 3] = 0; f64[s8 + 4] = 0; f64[s8 + 5] = 0; f64[s8 + 6] = 0; f64[s8 + 7] = 0; };
  const tests = [
    ["naive JS loop, 16 elements", () => naiveMeanF32(a, b)],
    ["one wasm export call (mse_simd)", () => simd()],
    ["memory.buffer getter", () => mem.buffer.byteLength],
    ["typedArray.byteLength (detach check)", () => f64.byteLength],
    ["new Float32Array(memory.buffer)", () => new Float32Array(mem.buffer).length],
    ["Float64Array.fill(0, s, s + 8)", () => { f64.fill(0, s8, s8 + 8); return 1; }],
    ["8 indexed stores of 0", () => { zero8(); return 1; }],
    ["2 x Float32Array.set(16 elements)", () => { f32.set(a, pa >>> 2); f32.set(b, pb >>> 2); return 1; }],
    ["2 x 16-element JS copy loop", () => { const o = pa >>> 2, p = pb >>> 2; for (let i = 0; i < 16; i++) { f32[o + i] = a[i]; f32[p + i] = b[i]; } return 1; }],
    ["typedArray.subarray()", () => a.subarray(0, 8).length],
    ["mse_sum_f32, n = 16", () => { sum(state, pa, pb, 0, 16); return 1; }],
    ["mse_state_loss", () => loss(state)],
    ["zero state + mse_sum_f32 + mse_state_loss", () => { zero8(); sum(state, pa, pb, 0, 16); return loss(state); }],
  ];
  if (typeof ex.mse_sum_once_f32 === "function") {
    const once = ex.mse_sum_once_f32;
    tests.push(["mse_sum_once_f32, n = 16 (one call)", () => once(pa, pb, 16)]);
  }
  if (lib) {
    const ta = lib.alloc("float32", [16]), tb = lib.alloc("float32", [16]);
    ta.view.set(a); tb.view.set(b);
    tests.push(["facade mseLoss(Float32Array x2), 16", () => lib.mseLoss(a, b)]);
    tests.push(["facade mseLoss(WasmTensor x2), 16", () => lib.mseLoss(ta, tb)]);
    tests.push(["WasmTensor .view getter", () => ta.view.length]);
  }
  console.log("\n── fixed costs (median ns per call, interleaved)");
  const xs = tests.map(([label, call]) => ({ label, call, loop: makeLoop(), times: [] }));
  for (const x of xs) { x.call(); x.reps = calibrate(x, { targetMs: 5 }); }
  for (let r = 0; r < rounds; r++) for (let j = 0; j < xs.length; j++) { const x = xs[(j + r) % xs.length]; x.times.push(sample(x, x.reps)); }
  for (const x of xs) console.log(`  ${x.label.padEnd(46)} ${(median(x.times) * 1e6).toFixed(1).padStart(8)} ns`);
}

/** TypedArray.set throughput between a JS-heap Float32Array and wasm memory, by destination page offset. */
function alignment() {
  const n = 1 << 20, chunk = 4096;
  const { input } = makeData("float32", n, "uniform");
  const base = ex.mse_alloc(3 * 65536);
  const page = (base + 4095) & ~4095;
  const offsets = [0, 16, 32, 48, 64, 256, 2048, 4048, 4064, 4080];
  console.log(`\n── copy-in of 4 MiB in 16 KiB chunks (TypedArray.set), by wasm destination address mod 4096 (ms; median of ${rounds})`);
  const inRow = [], outRow = [];
  const outArr = new Float32Array(n);
  for (const off of offsets) {
    const tin = [], tout = [];
    for (let r = 0; r < rounds; r++) {
      const v = new Float32Array(ex.memory.buffer);
      let t = performance.now();
      for (let i = 0; i < n; i += chunk) v.set(input.subarray(i, i + chunk), (page + off) >>> 2);
      tin.push(performance.now() - t);
      t = performance.now();
      const src = v.subarray((page + off) >>> 2, ((page + off) >>> 2) + chunk);
      for (let i = 0; i < n; i += chunk) outArr.set(src, i);
      tout.push(performance.now() - t);
    }
    inRow.push(`${off}: ${median(tin).toFixed(2)}`);
    outRow.push(`${off}: ${median(tout).toFixed(2)}`);
  }
  console.log(`  JS array -> wasm: ${inRow.join("  ")}`);
  console.log(`  wasm -> JS array: ${outRow.join("  ")}`);
  ex.mse_free(base, 3 * 65536);
}

if (sections.includes("overhead")) overhead();
if (sections.includes("align")) alignment();

for (const n of sections.includes("sizes") ? sizes : []) {
  const { input, target } = makeData("float32", n, "uniform");
  const bytes = n * 4;
  const state = ex.mse_alloc(64);
  const pa = ex.mse_alloc(bytes), pb = ex.mse_alloc(bytes), pg = ex.mse_alloc(bytes);
  const chunkA = ex.mse_alloc(CHUNK_BIG * 4), chunkB = ex.mse_alloc(CHUNK_BIG * 4);
  new Float32Array(ex.memory.buffer, pa, n).set(input);
  new Float32Array(ex.memory.buffer, pb, n).set(target);
  const mem = ex.memory;
  const sumF32 = ex.mse_sum_f32, stateLoss = ex.mse_state_loss, fused = ex.mse_fused_f32, gradK = ex.mse_grad_f32;

  // raw: the kernel on data already in wasm memory; state zeroed through a fresh view per call
  const rawZc = () => { new Float64Array(mem.buffer, state, 8).fill(0); sumF32(state, pa, pb, 0, n); return stateLoss(state) / n; };
  // raw, state zeroed through a cached view (valid as long as memory does not grow)
  const st = new Float64Array(mem.buffer, state, 8);
  const rawZcCached = () => { st.fill(0); sumF32(state, pa, pb, 0, n); return stateLoss(state) / n; };
  // fixed cost: one kernel call with n = 0 plus the state read
  const rawEmpty = () => { st.fill(0); sumF32(state, pa, pb, 0, 0); return stateLoss(state) + 1; };
  // JS-heap arrays: copy both whole into wasm memory, then the kernel
  const rawCopyWhole = () => {
    const f = new Float32Array(mem.buffer);
    f.set(input, pa >>> 2); f.set(target, pb >>> 2);
    st.fill(0); sumF32(state, pa, pb, 0, n); return stateLoss(state) / n;
  };
  const rawCopyChunked = (chunk) => () => {
    const f = new Float32Array(mem.buffer);
    st.fill(0);
    for (let i = 0; i < n; i += chunk) {
      const len = Math.min(chunk, n - i);
      f.set(input.subarray(i, i + len), chunkA >>> 2);
      f.set(target.subarray(i, i + len), chunkB >>> 2);
      sumF32(state, chunkA, chunkB, 0, len);
    }
    return stateLoss(state) / n;
  };
  // fused loss + grad, zero-copy, grad copied out into a fresh JS array (what the API returns)
  const rawFused = () => {
    st.fill(0);
    fused(state, pa, pb, 0, 0, 0, 2 / n, n, pg, 0);
    const g = new Float32Array(n); g.set(new Float32Array(mem.buffer, pg, n));
    return stateLoss(state) / n + g[0] * 0;
  };
  const rawSeparate = () => {
    st.fill(0); sumF32(state, pa, pb, 0, n); const loss = stateLoss(state) / n;
    gradK(pa, pb, 0, 0, 0, 2 / n, n, pg);
    const g = new Float32Array(n); g.set(new Float32Array(mem.buffer, pg, n));
    return loss + g[0] * 0;
  };
  const cs = [
    { id: "naive", label: "naive JS loop", call: () => naiveMeanF32(input, target) },
    { id: "raw-empty", label: "raw ABI: one call with n = 0 (fixed cost)", call: rawEmpty },
    { id: "raw-zc", label: "raw ABI sum, data in wasm (fresh view/call)", call: rawZc },
    { id: "raw-zc-cached", label: "raw ABI sum, data in wasm (cached view)", call: rawZcCached },
    { id: "raw-copy-whole", label: "raw ABI + copy both whole", call: rawCopyWhole },
    { id: "raw-copy-16k", label: "raw ABI + copy in 16 KiB chunks", call: rawCopyChunked(CHUNK_SMALL) },
    { id: "raw-copy-64k", label: "raw ABI + copy in 64 KiB chunks", call: rawCopyChunked(CHUNK_BIG) },
  ];
  let zc = null;
  if (lib) {
    zc = { a: lib.alloc("float32", [n]), b: lib.alloc("float32", [n]) };
    zc.a.view.set(input); zc.b.view.set(target);
    const { a, b } = zc;
    cs.push({ id: "mse-js", label: "facade mseLoss, JS typed arrays", call: () => lib.mseLoss(input, target) });
    cs.push({ id: "mse-zc", label: "facade mseLoss, WasmTensor", call: () => lib.mseLoss(a, b) });
  }
  const gradGroup = [
    { id: "naive-grad", label: "naive JS loss+grad", call: () => { const r = naiveLossGradF32(input, target); return r.loss + r.grad[0] * 0; } },
    { id: "raw-fused", label: "raw ABI fused + grad copy-out", call: rawFused },
    { id: "raw-separate", label: "raw ABI sum + grad + copy-out", call: rawSeparate },
    { id: "alloc-only", label: "new Float32Array(n) only (output floor)", call: () => new Float32Array(n).length },
  ];
  if (lib && zc) {
    const { a, b } = zc;
    gradGroup.push({ id: "withgrad-zc", label: "facade mseLossWithGrad, WasmTensor", call: () => { const r = lib.mseLossWithGrad(a, b); return r.loss + r.grad.data[0] * 0; } });
    gradGroup.push({ id: "separate-zc", label: "facade mseLoss + mseLossBackward, WasmTensor", call: () => lib.mseLoss(a, b) + lib.mseLossBackward(a, b).data[0] * 0 });
  }
  const all = [...cs, ...gradGroup];
  for (const x of all) { x.loop = makeLoop(); x.call(); x.reps = calibrate(x, { targetMs: 8 }); x.times = []; }
  const r = n >= 1 << 24 ? Math.min(rounds, 5) : rounds;
  for (let k = 0; k < r; k++) for (let j = 0; j < all.length; j++) { const x = all[(j + k) % all.length]; x.times.push(sample(x, x.reps)); }
  console.log(`\n── ${sizeLabel(n)} float32 (${r} rounds)`);
  const naive = all.find((x) => x.id === "naive"), naiveGrad = all.find((x) => x.id === "naive-grad");
  for (const x of all) {
    const base = gradGroup.includes(x) ? naiveGrad : naive;
    const med = median(x.times);
    console.log(`  ${x.label.padEnd(48)} ${fmtTime(med).padStart(9)}  ${(2 * bytes / (med * 1e6)).toFixed(2).padStart(7)} GB/s  ${medianRatio(base.times, x.times).toFixed(2).padStart(7)}× naive`);
  }
  if (lib) console.log(`  facade overhead vs raw (zc): ${fmtTime(median(all.find((x) => x.id === "mse-zc").times) - median(all.find((x) => x.id === "raw-zc").times))} per call`);
  if (zc) { zc.a.dispose(); zc.b.dispose(); }
  for (const [p, sz] of [[state, 64], [pa, bytes], [pb, bytes], [pg, bytes], [chunkA, CHUNK_BIG * 4], [chunkB, CHUNK_BIG * 4]]) ex.mse_free(p, sz);
}
