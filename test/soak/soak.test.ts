// Memory soak: 100,000 mixed calls over every API and every reduction, sizes up to
// 1 Mi elements (mostly small), with occasional failing calls and WasmTensors; the wasm
// heap's allocated bytes are back at baseline at the end and linear memory does not grow
// after the first round. Undisposed WasmTensors are reclaimed by the FinalizationRegistry
// once the garbage collector runs (Node: `--expose-gc`, or V8's flag set at run time).
//
// SOAK_CALLS overrides the number of calls.

import { beforeAll, describe, expect, it } from "vitest";
import * as lib from "../../ts/index.js";
import { envVar, prng } from "../forms.js";
import { captureWarnings } from "../helpers/warnings.js";

const CALLS = Number(envVar("SOAK_CALLS") ?? "") || 100_000;
const MAX = 1 << 20;

let baseline = 0;

// Pools of random data; operands are subarrays at random offsets (no per-call allocation).
const rand = prng(0x50a6);
const pool32 = new Float32Array(MAX + 64);
const pool64 = new Float64Array(MAX + 64);
const weights32 = new Float32Array(MAX + 64);
const weights64 = new Float64Array(MAX + 64);

beforeAll(async () => {
  captureWarnings();
  await lib.init();
  for (let i = 0; i < pool32.length; i++) {
    pool32[i] = (rand() * 2 - 1) * 8;
    pool64[i] = (rand() * 2 - 1) * 8;
    weights32[i] = rand() * 2;
    weights64[i] = rand() * 2;
  }
  baseline = lib.heapStats().allocatedBytes;
});

/** Mostly small sizes: 1 in 200 calls goes up to 1 Mi, 1 in 20 up to 64 Ki, the rest up to 300. */
function size(r: () => number): number {
  const u = r();
  if (u < 0.005) return 1 + Math.floor(r() * MAX);
  if (u < 0.05) return 1 + Math.floor(r() * (1 << 16));
  return Math.floor(r() * 300);
}

function slice(dtype: "float32" | "float64", n: number, r: () => number, weights = false): Float32Array | Float64Array {
  const off = Math.floor(r() * 64);
  const src = dtype === "float32" ? (weights ? weights32 : pool32) : weights ? weights64 : pool64;
  return src.subarray(off, off + n);
}

/**
 * Σ(a−b)²·w over the broadcast of [rows, cols] and [cols] (or equal shapes), each term in
 * float64 and the sum compensated (Neumaier): the terms are non-negative (weights are in
 * [0, 2)), so this is within a few float64 ulps of exact, tight enough for the 1e-13 bound.
 */
function referenceSum(a: ArrayLike<number>, b: ArrayLike<number>, w: ArrayLike<number> | null, cols: number): number {
  let s = 0;
  let c = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[cols === a.length ? i : i % cols]!;
    const t = d * d * (w ? w[i]! : 1);
    const u = s + t;
    c += Math.abs(s) >= Math.abs(t) ? s - u + t : t - u + s;
    s = u;
  }
  return s + c;
}

function closeTo(got: number, want: number, rel: number): boolean {
  if (Number.isNaN(want)) return Number.isNaN(got); // the mean of nothing
  return Math.abs(got - want) <= rel * Math.abs(want) + 1e-300;
}

type Op = (r: () => number, n: number, verify: boolean) => number;

/** Which ops have checked a result (each op calls `checked()` where it asserts one). */
const checkedOps = new Set<number>();
let currentOp = -1;
function checked(): void {
  checkedOps.add(currentOp);
}

// Reused buffers for `out` (as a training loop keeps one per parameter).
const gradOut32 = new Float32Array(MAX);
const gradOut64 = new Float64Array(MAX);

/** A gradient against `(a[i] - b[i]) * norm` in float64 (the library rounds to the dtype). */
function expectGradient(grad: Float32Array | Float64Array, a: Float32Array | Float64Array, b: Float32Array | Float64Array, norm: number, what: string): void {
  const rel = grad instanceof Float32Array ? 2.5e-7 : 1e-15;
  for (let i = 0; i < grad.length; i++) {
    const want = (a[i]! - b[i]!) * norm;
    if (!(Math.abs(grad[i]! - want) <= rel * Math.abs(want))) {
      throw new Error(`${what}: grad[${i}] = ${grad[i]}, want ${want}`);
    }
  }
  checked();
}

const reductions = ["mean", "sum", "none"] as const;

/** Every op returns how many API calls it made; `verify` asks it to check its result. */
const OPS: Op[] = [
  // contiguous loss, every reduction, every dtype pairing
  (r, n, verify) => {
    const da = r() < 0.5 ? "float32" : "float64";
    const db = r() < 0.8 ? da : da === "float32" ? "float64" : "float32";
    const a = slice(da, n, r);
    const b = slice(db, n, r);
    const reduction = reductions[Math.floor(r() * 3)]!;
    // "none" into a reused buffer half the time (`out`, as a per-frame error map would)
    const lossOut = reduction === "none" && r() < 0.5 ? (da === "float32" && db === "float32" ? gradOut32 : gradOut64).subarray(0, n) : undefined;
    const out = lossOut === undefined ? lib.mseLoss(a, b, { reduction }) : lib.mseLoss(a, b, { reduction, out: lossOut });
    if (lossOut !== undefined) expect((out as { data: unknown }).data).toBe(lossOut);
    if (verify) {
      const want = referenceSum(a, b, null, n);
      const rel = da === "float32" && db === "float32" ? 1e-6 : 1e-13;
      if (reduction === "none") {
        const t = out as { data: Float32Array | Float64Array };
        let s = 0;
        for (let i = 0; i < t.data.length; i++) s += t.data[i]!;
        expect(closeTo(s, want, 1e-6), `none over ${n}`).toBe(true);
      } else {
        expect(closeTo(out as number, reduction === "sum" ? want : want / n, rel), `${reduction} over ${n}: ${String(out)} vs ${want}`).toBe(true);
      }
      checked();
    }
    return 1;
  },
  // broadcasting [rows, cols] against [cols], axis reductions, keepdims
  (r, n, verify) => {
    const cols = Math.max(1, Math.floor(Math.sqrt(n) * (0.5 + r())));
    const rows = Math.max(1, Math.floor(n / cols));
    const dtype = r() < 0.5 ? "float32" : "float64";
    const a = { data: slice(dtype, rows * cols, r), shape: [rows, cols] };
    const b = { data: slice(dtype, cols, r), shape: [cols] };
    // a checked call takes the kind it can check against the reference
    const drawn = Math.floor(r() * 4);
    const kind = verify ? 0 : drawn;
    const options =
      kind === 0
        ? { reduction: "sum" as const, broadcast: true }
        : kind === 1
          ? { reduction: "mean" as const, broadcast: true, axis: 0 }
          : kind === 2
            ? { reduction: "sum" as const, broadcast: true, axis: [-1], keepdims: true }
            : { reduction: "none" as const, broadcast: true };
    const out = lib.mseLoss(a, b, options);
    if (verify && kind === 0) {
      expect(closeTo(out as number, referenceSum(a.data, b.data, null, cols), dtype === "float32" ? 1e-6 : 1e-13)).toBe(true);
      checked();
    }
    return 1;
  },
  // weights
  (r, n, verify) => {
    const dtype = r() < 0.5 ? "float32" : "float64";
    const a = slice(dtype, n, r);
    const b = slice(dtype, n, r);
    const w = slice(dtype, n, r, true);
    const drawn = reductions[Math.floor(r() * 3)]!;
    const reduction = verify ? "sum" : drawn;
    const out = lib.mseLoss(a, b, { reduction, weight: w });
    if (verify && reduction === "sum") {
      expect(closeTo(out as number, referenceSum(a, b, w, n), dtype === "float32" ? 1e-6 : 1e-13)).toBe(true);
      checked();
    }
    return 1;
  },
  // gradients, fused, module API; the gradient also into a reused array or a WasmTensor (`out`)
  (r, n, verify) => {
    const dtype = r() < 0.5 ? "float32" : "float64";
    const a = slice(dtype, n, r);
    const b = slice(dtype, n, r);
    const reduction = reductions[Math.floor(r() * 3)]!;
    const norm = reduction === "mean" ? 2 / n : 2;
    const which = Math.floor(r() * 6);
    if (which === 0) {
      lib.mseLossBackward(a, b, reduction === "none" ? { reduction, gradOutput: slice(dtype, n, r) } : { reduction, gradOutput: 0.5 });
      return 1;
    }
    if (which === 1) {
      const { loss, grad } = lib.mseLossWithGrad(a, b, { reduction });
      expect(grad.data.length).toBe(n);
      if (verify) {
        expectGradient(grad.data, a, b, norm, `mseLossWithGrad ${reduction} over ${n}`);
        if (reduction !== "none") {
          const want = referenceSum(a, b, null, n);
          expect(closeTo(loss as number, reduction === "sum" ? want : want / n, dtype === "float32" ? 1e-6 : 1e-13)).toBe(true);
        }
      }
      return 1;
    }
    if (which === 4) {
      const out = dtype === "float32" ? gradOut32.subarray(0, n) : gradOut64.subarray(0, n);
      const { grad } = lib.mseLossWithGrad(a, b, { reduction, out });
      expect(grad.data).toBe(out);
      if (verify) expectGradient(out, a, b, norm, `mseLossWithGrad ${reduction} over ${n} into an array`);
      return 1;
    }
    if (which === 5) {
      const t = lib.alloc(dtype, [n]);
      try {
        const grad = lib.mseLossBackward(a, b, { reduction, out: t });
        expect(grad.data).toBe(t.view);
        if (verify) expectGradient(t.view, a, b, norm, `mseLossBackward ${reduction} over ${n} into a WasmTensor`);
      } finally {
        t.dispose();
      }
      return 2;
    }
    if (which === 2) {
      const criterion = new lib.MSELoss({ reduction });
      criterion.forward(a, b);
      criterion.backward(a, b);
      return 2;
    }
    // the gradient summed back over a broadcast dim
    const cols = Math.max(1, Math.min(n, 1 + Math.floor(r() * 32)));
    const rows = Math.max(1, Math.floor(n / cols));
    const g = lib.mseLossBackward({ data: slice(dtype, cols, r), shape: [cols] }, { data: slice(dtype, rows * cols, r), shape: [rows, cols] }, { reduction: "sum", broadcast: true });
    expect(g.shape).toEqual([cols]);
    return 1;
  },
  // streaming metric
  (r, n, verify) => {
    const squared = r() < 0.5;
    const m = new lib.MeanSquaredError({ squared });
    const other = new lib.MeanSquaredError({ squared });
    const a = slice("float32", n, r);
    const b = slice("float32", n, r);
    m.update(a, b);
    other.update(b, a);
    m.merge(other);
    const v = m.compute();
    if (verify && n > 0) {
      // update(a, b) and update(b, a) add the same squares twice over 2n elements
      const mse = referenceSum(a, b, null, n) / n;
      expect(closeTo(v, squared ? mse : Math.sqrt(mse), 1e-6), `metric over ${n}: ${v}`).toBe(true);
      checked();
    }
    lib.MeanSquaredError.fromState(JSON.parse(JSON.stringify(m.state)));
    return 3;
  },
  // WasmTensors: alloc, fill, use zero-copy, dispose (also as weight), sometimes twice
  (r, n, verify) => {
    const dtype = r() < 0.5 ? "float32" : "float64";
    const x = lib.alloc(dtype, [n]);
    const y = lib.alloc(dtype, [n]);
    try {
      x.view.set(slice(dtype, n, r));
      y.view.set(slice(dtype, n, r));
      const withWeight = r() < 0.3;
      const w = withWeight ? lib.alloc(dtype, [n]) : null;
      try {
        if (w) w.view.set(slice(dtype, n, r, true));
        const out = lib.mseLoss(x, y, w ? { reduction: "sum", weight: w } : { reduction: "sum" });
        if (verify) {
          expect(closeTo(out as number, referenceSum(x.view, y.view, w ? w.view : null, n), dtype === "float32" ? 1e-6 : 1e-13)).toBe(true);
          checked();
        }
      } finally {
        w?.dispose();
      }
    } finally {
      x.dispose();
      y.dispose();
      if (r() < 0.1) y.dispose();
    }
    return 3;
  },
  // failing calls: each must leave nothing allocated
  (r, n) => {
    const kind = Math.floor(r() * 5);
    const a = slice("float64", n + 3, r).subarray(0, n + 2);
    try {
      if (kind === 0) lib.mseLoss({ data: a, shape: [n + 2] }, { data: slice("float64", n + 3, r), shape: [n + 3] });
      else if (kind === 1) lib.mseLoss(a, a, { reduction: "avg" as never });
      else if (kind === 2) lib.mseLoss(a, a, { axis: 3 });
      else if (kind === 3) lib.alloc("float64", [2 ** 33]);
      else lib.mseLossBackward(a, a, { reduction: "none", gradOutput: { data: a, shape: [1, n + 2, 2] } });
    } catch (e) {
      expect(e).toBeInstanceOf(RangeError);
      checked();
      return 1;
    }
    throw new Error(`failing call ${kind} did not throw`);
  },
];

/** The biggest thing each op can do, once: memory reaches its high-water mark here. */
function warmUp(): void {
  const big = () => 0.5;
  for (const op of OPS) {
    for (let k = 0; k < 4; k++) op(k === 0 ? big : prng(k), MAX, false);
  }
  // the largest simultaneous footprint: three 1 Mi float64 WasmTensors plus a strided call's copies
  const t = [lib.alloc("float64", [MAX]), lib.alloc("float64", [MAX]), lib.alloc("float64", [MAX])];
  try {
    lib.mseLoss({ data: slice("float64", MAX, big), shape: [1024, 1024] }, { data: slice("float64", 1024, big), shape: [1024] }, { reduction: "none", broadcast: true, weight: slice("float32", 1024, big) });
    lib.mseLossWithGrad(t[0]!, t[1]!, { reduction: "none", weight: t[2]! });
    lib.mseLossBackward({ data: slice("float32", MAX, big), shape: [1024, 1024] }, { data: slice("float64", MAX, big), shape: [1024, 1024] }, { reduction: "none", weight: { data: slice("float32", MAX, big), shape: [1024, 1024] }, gradOutput: { data: slice("float32", MAX, big), shape: [1024, 1024] } });
  } finally {
    for (const x of t) x.dispose();
  }
}

async function collectGarbage(): Promise<(() => void) | null> {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === "function") return g;
  // Node without --expose-gc: V8 can switch the flag on at run time.
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  if (!proc?.versions?.node) return null;
  const v8 = (await import(/* @vite-ignore */ "node:v8" as string)) as { setFlagsFromString(f: string): void };
  const vm = (await import(/* @vite-ignore */ "node:vm" as string)) as { runInNewContext(code: string): unknown };
  v8.setFlagsFromString("--expose-gc");
  return vm.runInNewContext("gc") as () => void;
}

describe("soak", () => {
  it(`${CALLS} mixed calls: no leak, no growth after the first round`, () => {
    warmUp();
    expect(lib.heapStats().allocatedBytes).toBe(baseline);
    const r = prng(0xc0ffee);
    const firstRound = Math.floor(CALLS / 10);
    let calls = 0;
    let memoryAfterFirstRound = -1;
    let ops = 0;
    checkedOps.clear();
    let verifies = 0;
    while (calls < CALLS) {
      // every 50th op checks its result (whatever SOAK_CALLS is), taking the ops in turn
      // so that each checks one even in a short soak; the others are drawn at random
      const verify = ops++ % 50 === 0;
      currentOp = verify ? verifies++ % OPS.length : Math.floor(r() * OPS.length);
      const op = OPS[currentOp]!;
      calls += op(r, size(r), verify);
      if (memoryAfterFirstRound < 0 && calls >= firstRound) {
        memoryAfterFirstRound = lib.heapStats().memoryBytes;
        expect(lib.heapStats().allocatedBytes).toBe(baseline);
      }
    }
    expect([...checkedOps].sort((x, y) => x - y), "ops that checked a result").toEqual(OPS.map((_, i) => i));
    expect(lib.heapStats().allocatedBytes, "allocated bytes after the soak").toBe(baseline);
    expect(lib.heapStats().memoryBytes, "linear memory grew after the first round").toBe(memoryAfterFirstRound);
    // and the module still gives the seed's answer
    expect(lib.mseLoss(Float32Array.from([0.1, 0.2, 0.4, 0.8]), Float32Array.from([0.0, 0.4, 0.3, 0.3]))).toBeCloseTo(0.0775, 7);
  });

  it("undisposed WasmTensors are reclaimed by the FinalizationRegistry after GC", async () => {
    const gc = await collectGarbage();
    expect(gc, "no way to run the garbage collector in this runtime (Node: pass --expose-gc)").not.toBeNull();
    const before = lib.heapStats().allocatedBytes;
    (() => {
      for (let i = 0; i < 200; i++) {
        // up to 157 KB: large tensors too, which sit inside a larger block (heap.ts allocateTensor)
        const t = lib.alloc(i % 2 ? "float32" : "float64", [1 + (i % 50) * 400]);
        t.view[0] = i;
        lib.mseLoss(t, t);
      }
    })();
    expect(lib.heapStats().allocatedBytes).toBeGreaterThan(before);
    // FinalizationRegistry callbacks run after a GC, on a later task: collect and yield until they ran
    for (let i = 0; i < 200 && lib.heapStats().allocatedBytes !== before; i++) {
      gc!();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(lib.heapStats().allocatedBytes, "leaked WasmTensors were not reclaimed").toBe(before);
    expect(before).toBe(baseline);
  });

  it("use after dispose is a clear error and a second dispose is a no-op, many times over", () => {
    for (let i = 0; i < 1000; i++) {
      const t = lib.alloc("float32", [i % 17]);
      t.dispose();
      t.dispose();
      expect(() => t.view).toThrow(/dispose/);
      expect(() => lib.mseLoss(t, t)).toThrow(/dispose/);
    }
    expect(lib.heapStats().allocatedBytes).toBe(baseline);
  });
});
