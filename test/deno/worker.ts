// Worker for test/deno/worker.test.ts: a Worker has its own module graph, hence its own
// mse-wasm instance, which can be initialised differently from the test's.
// Message in: { mode: "scalar" | "initSync", cases: [{ name, dtype, input, target }] }.
// Message out: { backend, values: { [name]: { mean, sum } } } or { error }.
import * as lib from "../../dist/esm/index.js";

interface Job {
  mode: "scalar" | "initSync";
  cases: { name: string; dtype: "float32" | "float64"; input: number[]; target: number[] }[];
}

self.onmessage = async (e: MessageEvent<Job>) => {
  try {
    const { mode, cases } = e.data;
    if (mode === "scalar") await lib.init({ simd: false });
    else lib.initSync();
    const values: Record<string, { mean: unknown; sum: unknown }> = {};
    for (const c of cases) {
      const ctor = c.dtype === "float32" ? Float32Array : Float64Array;
      const a = new ctor(c.input);
      const b = new ctor(c.target);
      values[c.name] = { mean: lib.mseLoss(a, b, { reduction: "mean" }), sum: lib.mseLoss(a, b, { reduction: "sum" }) };
    }
    self.postMessage({ backend: lib.backend(), values });
  } catch (err) {
    self.postMessage({ error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  }
  self.close();
};
