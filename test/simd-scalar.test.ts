// The SIMD128 and the scalar build side by side, as two independent module instances
// (test/helpers/instance.ts: a re-imported module in Node, a module Web Worker in the browser):
// the SIMD build must be the one loaded wherever the engine validates SIMD128 (a missing
// SIMD build fails here instead of passing silently), and both builds give bit-identical
// results: every length 0..100 and some large ones, every reduction, both dtypes,
// weights, broadcasting, axis, gradients and the fused call.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Call, Outcome } from "./helpers/calls.js";
import { identical } from "./helpers/fixtures.js";
import { freshInstance, type Instance } from "./helpers/instance.js";
import { spreadValues } from "./helpers/random.js";

type Options = Record<string, unknown>;

// (module (memory 1) (func (result v128) (memory.fill (i32.const 0) (i32.const 0) (i32.const 0))
// i32.const 0 i8x16.splat i8x16.popcnt)): valid only with SIMD128 and bulk memory, as in ts/init.ts
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 5, 3, 1, 0, 1, 10, 19, 1, 17, 0, 65, 0, 65, 0, 65,
  0, 252, 11, 0, 65, 0, 253, 15, 253, 98, 11,
]);

let simd: Instance;
let scalar: Instance;

beforeAll(async () => {
  simd = await freshInstance();
  await simd.init();
  scalar = await freshInstance();
  await scalar.init({ simd: false });
});

afterAll(() => {
  simd?.close();
  scalar?.close();
});

describe("backends", () => {
  it("SIMD128 is available in this engine (Node >= 20, Chromium)", () => {
    expect(WebAssembly.validate(SIMD_PROBE)).toBe(true);
  });

  it("init() loads the SIMD build where the engine supports it; init({ simd: false }) the scalar one", async () => {
    expect(simd).not.toBe(scalar);
    expect(await simd.backend()).toBe(WebAssembly.validate(SIMD_PROBE) ? "simd" : "scalar");
    expect(await scalar.backend()).toBe("scalar");
  });
});

type Batch = Array<[string, Call]>;

/** Runs every call on both builds and asserts bit-identical results. */
async function same(batch: Batch): Promise<void> {
  // a few calls per round trip: large results are not all held at once
  for (let start = 0; start < batch.length; start += 4) {
    const part = batch.slice(start, start + 4);
    const calls = part.map(([, c]) => c);
    const [a, b] = await Promise.all([simd.run(calls), scalar.run(calls)]);
    for (let i = 0; i < part.length; i++) compareOutcome(part[i][0], a[i], b[i]);
  }
}

function compareOutcome(what: string, a: Outcome, b: Outcome): void {
  if ("error" in a || "error" in b) {
    expect.fail(`${what}: simd ${JSON.stringify("error" in a ? a.error : "ok")}, scalar ${JSON.stringify("error" in b ? b.error : "ok")}`);
    return;
  }
  const va = a.value;
  const vb = b.value;
  if (isFused(va) && isFused(vb)) {
    if (!identical(va.loss, vb.loss)) expect.fail(`${what}: fused loss differs: ${show(va.loss)} vs ${show(vb.loss)}`);
    if (!identical(va.grad, vb.grad)) expect.fail(`${what}: fused grad differs: ${show(va.grad)} vs ${show(vb.grad)}`);
    return;
  }
  if (!identical(va, vb)) {
    expect.fail(`${what}: results differ: ${show(va)} vs ${show(vb)}`);
  }
}

function isFused(v: unknown): v is { loss: unknown; grad: unknown } {
  return typeof v === "object" && v !== null && "loss" in v && "grad" in v;
}

function show(v: unknown): string {
  if (typeof v === "number") return String(v);
  const t = v as { data: Float32Array | Float64Array; shape: number[] };
  return `Tensor[${t.shape.join(", ")}](${Array.from(t.data.subarray(0, 4)).join(", ")}...)`;
}

const loss = (input: unknown, target: unknown, options?: Options): Call => ({ fn: "mseLoss", input, target, options });
const backward = (input: unknown, target: unknown, options?: Options): Call => ({ fn: "mseLossBackward", input, target, options });
const fused = (input: unknown, target: unknown, options?: Options): Call => ({ fn: "mseLossWithGrad", input, target, options });

const REDUCTIONS = ["mean", "sum", "none"] as const;

/** Every kind of call on one input/target pair of length n (n >= 0). */
async function allCalls(n: number, dtype: "float32" | "float64", seed: number): Promise<void> {
  const x = spreadValues(n, seed, 10, dtype);
  const y = spreadValues(n, seed + 1, 10, dtype);
  const w = spreadValues(n, seed + 2, 3, dtype);
  for (let i = 0; i < n; i++) w[i] = Math.abs(w[i]);
  const g = spreadValues(n, seed + 3, 3, dtype);
  const tag = `${dtype} n=${n}`;
  // a [rows, cols] input against [cols]: [3, n] up to 65537 elements, [n / 1024, 1024] beyond
  const cols = n > 65537 ? 1024 : n;
  const rows = n > 65537 ? n / 1024 : 3;
  const input2 = { data: spreadValues(rows * cols, seed + 4, 10, dtype), shape: [rows, cols] };
  const yc = y.subarray(0, cols);
  const wc = { data: w.subarray(0, cols), shape: [cols] };
  const gRows = spreadValues(rows, seed + 5, 2, "float64");
  const shape2 = `[${rows}, ${cols}]`;
  const y1 = { data: y.subarray(0, 1), shape: [1] };
  for (const reduction of REDUCTIONS) {
    const opts: Options = { reduction };
    const withG: Options = reduction === "none" ? { reduction, gradOutput: { data: g, shape: [n] } } : { reduction, gradOutput: 0.75 };
    const weighted: Options = { reduction, weight: { data: w, shape: [n] } };
    const batch: Batch = [
      [`${tag} ${reduction}`, loss(x, y, opts)],
      [`${tag} ${reduction} weighted`, loss(x, y, weighted)],
      [`${tag} ${reduction} backward`, backward(x, y, opts)],
      [`${tag} ${reduction} backward g`, backward(x, y, withG)],
      [`${tag} ${reduction} backward weighted`, backward(x, y, { ...weighted, gradOutput: withG.gradOutput })],
      [`${tag} ${reduction} fused`, fused(x, y, withG)],
      [`${tag} ${reduction} fused weighted`, fused(x, y, weighted)],
    ];
    if (n > 0) {
      const b = { reduction, broadcast: true };
      batch.push(
        [`${tag} ${reduction} vs [1]`, loss(x, y1, b)],
        [`${tag} ${reduction} [1] vs [n] backward (summed)`, backward(y1, x, b)],
        [`${tag} ${reduction} ${shape2} vs [cols]`, loss(input2, yc, b)],
        [`${tag} ${reduction} [cols] vs ${shape2} backward (summed)`, backward(yc, input2, b)],
        [`${tag} ${reduction} ${shape2} vs [cols] fused`, fused(input2, yc, b)],
      );
      if (reduction !== "none") {
        batch.push(
          [`${tag} ${reduction} axis 0 of ${shape2}`, loss(input2, yc, { ...b, axis: 0 })],
          [`${tag} ${reduction} axis -1 keepdims of ${shape2}`, loss(input2, yc, { ...b, axis: -1, keepdims: true })],
          [`${tag} ${reduction} axis 1 backward`, backward(input2, yc, { ...b, axis: 1, gradOutput: gRows })],
          [`${tag} ${reduction} axis 0 weighted fused`, fused(input2, yc, { ...b, axis: 0, weight: wc })],
        );
      }
    }
    // at 2^20 elements, one call of each kind (the small lengths cover the combinations)
    const kinds = new Set(["", " weighted", " backward g", " fused weighted", " vs [1]", " [1] vs [n] backward (summed)",
      ` axis 0 of ${shape2}`, " axis 1 backward", ` ${shape2} vs [cols] fused`]);
    let picked = batch;
    if (n >= 1 << 20) {
      picked = batch.filter(([what]) => kinds.has(what.slice(`${tag} ${reduction}`.length)));
      // every kind named above must still exist in the batch
      expect(picked.length).toBe(reduction === "none" ? 7 : 9);
    }
    await same(picked);
  }
}

describe("bit-identical results", () => {
  it("every length 0..100", async () => {
    for (let n = 0; n <= 100; n++) {
      await allCalls(n, "float32", 1000 + n);
      await allCalls(n, "float64", 2000 + n);
    }
  });

  for (const n of [4096, 65537, 1 << 20]) {
    it(`length ${n}`, async () => {
      await allCalls(n, "float32", 3000 + n);
      await allCalls(n, "float64", 4000 + n);
    });
  }

  it("mixed dtypes, nested arrays and WasmTensors", async () => {
    const x = spreadValues(257, 5, 10, "float32");
    const y = spreadValues(257, 6, 10, "float64");
    const x32 = { data: x, shape: [257] };
    const y32 = { data: Float32Array.from(y), shape: [257] };
    const batch: Batch = [];
    for (const reduction of REDUCTIONS) {
      batch.push(
        [`mixed ${reduction}`, loss(x, y, { reduction })],
        [`mixed ${reduction} fused`, fused(x, y, { reduction })],
        [`nested ${reduction}`, loss([[1.5, 2.25], [3, -4]], [[0.1, 0.2], [0.3, 0.4]], { reduction })],
        [`WasmTensor ${reduction}`, { fn: "mseLossWithGrad", input: x32, target: y32, options: { reduction }, wasm: "float32" }],
      );
    }
    await same(batch);
  });

  it("the streaming metric", async () => {
    const x = spreadValues(5000, 7, 10, "float32");
    const y = spreadValues(5000, 8, 10, "float32");
    const batches: Array<[unknown, unknown]> = [];
    for (let i = 0; i < 5000; i += 999) batches.push([x.subarray(i, i + 999), y.subarray(i, i + 999)]);
    await same([
      ["MeanSquaredError", { fn: "MeanSquaredError", batches }],
      ["MeanSquaredError RMSE", { fn: "MeanSquaredError", batches, options: { squared: false } }],
    ]);
  });
});
