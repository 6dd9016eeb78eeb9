// Fresh mse-wasm instances in Deno Workers (each Worker has its own module graph):
// init({ simd: false }) gives the scalar build, bit-identical to SIMD on the API.md seeds,
// and initSync() with no argument works. Run by scripts/test.mjs as
// `deno test --no-prompt --allow-read=dist,test/deno test/deno/worker.test.ts`: Deno
// needs read access to load a Worker's modules (the library itself reads nothing).
import * as lib from "../../dist/esm/index.js";
import { fail, seed } from "./seed.ts";

interface WorkerReply {
  backend?: string;
  values?: Record<string, { mean: unknown; sum: unknown }>;
  error?: string;
}

/** Runs test/deno/worker.ts (a fresh module instance) on the seed cases. */
function inWorker(mode: "scalar" | "initSync", names: string[]): Promise<WorkerReply> {
  const cases = names.map((name) => {
    const c = seed(name);
    return { name, dtype: c.input.dtype, input: c.input.data, target: c.target.data };
  });
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
    worker.onmessage = (e: MessageEvent<WorkerReply>) => {
      worker.terminate();
      resolve(e.data);
    };
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      worker.terminate();
      reject(new Error(`worker failed: ${e.message}`));
    };
    worker.postMessage({ mode, cases });
  });
}

const SEEDS = ["seed-4 float64", "seed-3x3 float64", "seed-4 float32", "seed-3x3 float32"];

Deno.test("a fresh instance forced to the scalar build agrees bit for bit with SIMD", async () => {
  await lib.init();
  if (lib.backend() !== "simd") fail(`main instance backend() is ${lib.backend()}, expected simd`);
  const reply = await inWorker("scalar", SEEDS);
  if (reply.error) fail(`worker: ${reply.error}`);
  if (reply.backend !== "scalar") fail(`worker backend() after init({ simd: false }) is ${reply.backend}`);
  for (const name of SEEDS) {
    const c = seed(name);
    const ctor = c.input.dtype === "float32" ? Float32Array : Float64Array;
    for (const reduction of ["mean", "sum"] as const) {
      const simd = lib.mseLoss(new ctor(c.input.data), new ctor(c.target.data), { reduction });
      const scalar = reply.values?.[name]?.[reduction];
      if (!Object.is(scalar, simd)) fail(`${name} ${reduction}: scalar ${String(scalar)} !== simd ${String(simd)}`);
    }
  }
});

Deno.test("initSync() with no argument works in a fresh instance", async () => {
  const reply = await inWorker("initSync", ["seed-3x3 float64"]);
  if (reply.error) fail(`worker: ${reply.error}`);
  if (reply.backend !== "simd") fail(`backend() after initSync() is ${reply.backend}, expected simd`);
  const got = reply.values?.["seed-3x3 float64"];
  const c = seed("seed-3x3 float64");
  if (got?.sum !== 37) fail(`sum after initSync() is ${String(got?.sum)}, PyTorch gives 37`);
  const mean = got?.mean;
  if (typeof mean !== "number" || Math.abs(mean - c.results.mean.value) > 1e-15 * c.results.mean.value) {
    fail(`mean after initSync() is ${String(mean)}, PyTorch gives ${c.results.mean.value}`);
  }
});
