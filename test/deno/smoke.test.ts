// Deno smoke test of the built package (dist/esm), run by scripts/test.mjs as
// `deno test --no-prompt test/deno/smoke.test.ts`: no permission at all, since the wasm
// bytes are inlined. (test/deno/worker.test.ts covers fresh instances in Workers.)
// Expected values come from test/fixtures/forward.json (real PyTorch), the API.md seeds.
// (Types here are inferred from the JS: dist/esm/*.d.ts re-export from "./x.js", which
// Deno resolves to the .js file. The packed-package check type-checks `npm:mse-wasm`.)
import * as lib from "../../dist/esm/index.js";
import { fail, seed, type FixtureTensor } from "./seed.ts";

function assertClose(actual: unknown, expected: number, relTol: number, what: string): void {
  if (typeof actual !== "number") fail(`${what}: expected a number, got ${typeof actual} ${String(actual)}`);
  const err = Math.abs(actual - expected);
  if (!(err <= relTol * Math.abs(expected))) {
    fail(`${what}: got ${actual}, expected ${expected} (relative error ${err / Math.abs(expected)} > ${relTol})`);
  }
}

function assertEquals<T>(actual: T, expected: T, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) fail(`${what}: got ${a}, expected ${e}`);
}

function assertTensor(actual: unknown, expected: FixtureTensor, what: string): void {
  const t = actual as { data: Float32Array | Float64Array; shape: number[] };
  if (typeof t !== "object" || t === null || !("data" in t)) fail(`${what}: expected a Tensor, got ${String(actual)}`);
  const ctor = expected.dtype === "float32" ? Float32Array : Float64Array;
  if (!(t.data instanceof ctor)) fail(`${what}: data is ${t.data?.constructor?.name}, expected ${ctor.name}`);
  assertEquals(t.shape, expected.shape, `${what} shape`);
  // Elementwise (a - b)^2 is two correctly rounded IEEE operations: bit-exact with PyTorch.
  assertEquals(Array.from(t.data), expected.data, `${what} data`);
}

function nest(data: number[], shape: number[]): number[] | number[][] {
  if (shape.length === 1) return data.slice();
  const [rows, cols] = shape;
  return Array.from({ length: rows }, (_, i) => data.slice(i * cols, (i + 1) * cols));
}

Deno.test("runs with no permission granted (the library needs none)", async () => {
  for (const name of ["read", "net", "env", "run", "ffi"] as const) {
    const { state } = await Deno.permissions.query({ name });
    assertEquals(state === "granted", false, `${name} permission granted`);
  }
});

Deno.test("init() resolves and picks the SIMD build (Deno's V8 has SIMD128)", async () => {
  await lib.init();
  assertEquals(lib.backend(), "simd", "backend()");
});

Deno.test("API.md seed: mseLoss of float64 number[] gives PyTorch's mean 0.0775, sum 0.31 and none", async () => {
  await lib.init();
  const c = seed("seed-4 float64");
  assertClose(lib.mseLoss(c.input.data, c.target.data), c.results.mean.value, 1e-15, "mean (default reduction)");
  assertClose(lib.mseLoss(c.input.data, c.target.data, { reduction: "mean" }), 0.0775, 1e-15, "mean");
  assertClose(lib.mseLoss(c.input.data, c.target.data, { reduction: "sum" }), c.results.sum.value, 1e-15, "sum");
  assertTensor(lib.mseLoss(c.input.data, c.target.data, { reduction: "none" }), c.results.none, "none");
});

Deno.test("API.md seed: 3x3 nested number[][] gives none / mean / sum 37", async () => {
  await lib.init();
  const c = seed("seed-3x3 float64");
  const input = nest(c.input.data, c.input.shape);
  const target = nest(c.target.data, c.target.shape);
  assertTensor(lib.mseLoss(input, target, { reduction: "none" }), c.results.none, "none");
  assertClose(lib.mseLoss(input, target, { reduction: "mean" }), c.results.mean.value, 1e-15, "mean");
  assertClose(lib.mseLoss(input, target, { reduction: "sum" }), 37, 1e-15, "sum");
});

Deno.test("float32 input keeps float32 math: none bit-exact with PyTorch, mean as a float64 number", async () => {
  await lib.init();
  const c = seed("seed-4 float32");
  const input = new Float32Array(c.input.data);
  const target = new Float32Array(c.target.data);
  assertTensor(lib.mseLoss(input, target, { reduction: "none" }), c.results.none, "none");
  // API.md accuracy contract for float32 data: 1e-6 relative to the exact mean.
  assertClose(lib.mseLoss(input, target), c.results.mean.value64, 1e-6, "mean");
  assertClose(lib.mseLoss(input, target, { reduction: "sum" }), c.results.sum.value64, 1e-6, "sum");
});

Deno.test("MSELoss module and a zero-copy WasmTensor give the same seed results", async () => {
  await lib.init();
  const c = seed("seed-4 float64");
  const criterion = new lib.MSELoss({ reduction: "sum" });
  assertClose(criterion.forward(c.input.data, c.target.data), c.results.sum.value, 1e-15, "MSELoss sum");
  const x = lib.alloc("float64", [4]);
  try {
    x.view.set(c.input.data);
    assertClose(lib.mseLoss(x, c.target.data), c.results.mean.value, 1e-15, "mean of a WasmTensor");
  } finally {
    x.dispose();
  }
});
