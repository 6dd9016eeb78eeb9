// Concurrency in Node: worker_threads, each loading the built library (dist/esm) with its
// own instance, compute bit-identically what the main thread computes; and concurrent
// init() calls in one realm instantiate the module exactly once.

import { describe, expect, it, vi } from "vitest";
import * as lib from "../../ts/index.js";
import { differingCases, encodedResults } from "../determinism.mjs";
import { countInstantiations } from "../helpers/instantiations.mjs";
import type { Lib } from "../forms.js";
import { captureWarnings } from "../helpers/warnings.js";

interface WorkerLike {
  on(event: "message", fn: (m: WorkerReport) => void): void;
  on(event: "error", fn: (e: Error) => void): void;
  on(event: "exit", fn: (code: number) => void): void;
  terminate(): Promise<number>;
}
interface WorkerThreads {
  Worker: new (url: URL, options: { workerData: unknown }) => WorkerLike;
}
interface WorkerReport {
  backend: string;
  instances: number;
  initResults: string[];
  results: Uint8Array[];
  heap: { allocatedBytes: number; memoryBytes: number };
}

const entry = new URL("../../dist/esm/index.js", import.meta.url);
const casesModule = new URL("../determinism.mjs", import.meta.url);
const countingModule = new URL("../helpers/instantiations.mjs", import.meta.url);

async function exists(url: URL): Promise<boolean> {
  const fs = (await import(/* @vite-ignore */ "node:fs" as string)) as { existsSync(p: URL): boolean };
  return fs.existsSync(url);
}

function runWorker(wt: WorkerThreads, simd: boolean): Promise<WorkerReport> {
  return new Promise((resolve, reject) => {
    const worker = new wt.Worker(new URL("./mse-worker.mjs", import.meta.url), {
      workerData: { entry: entry.href, cases: casesModule.href, instantiations: countingModule.href, simd },
    });
    worker.on("message", (m) => {
      resolve(m);
      void worker.terminate();
    });
    worker.on("error", reject);
    worker.on("exit", (code) => {
      if (code !== 0 && code !== 1) reject(new Error(`worker exited with code ${code}`));
    });
  });
}

describe("worker_threads", () => {
  it("four concurrent workers (SIMD and scalar) compute bit-identically what the main thread computes", async () => {
    captureWarnings();
    expect(await exists(entry), "dist/esm/index.js is missing: run `npm run build` first").toBe(true);
    await lib.init();
    const wt = (await import(/* @vite-ignore */ "node:worker_threads" as string)) as WorkerThreads;
    const reports = await Promise.all([runWorker(wt, true), runWorker(wt, false), runWorker(wt, true), runWorker(wt, false)]);
    const mine = encodedResults(lib as Lib);
    reports.forEach((r, i) => {
      expect(r.backend, `worker ${i}`).toBe(i % 2 === 0 ? "simd" : "scalar");
      expect(r.initResults, `worker ${i}: ten concurrent init() calls`).toEqual(new Array(10).fill("fulfilled"));
      expect(r.instances, `worker ${i}: module instances created by ten concurrent init() calls`).toBe(1);
      expect(r.results.length).toBe(mine.length);
      expect(differingCases(r.results, mine), `worker ${i} (${r.backend}) differs from the main thread (${lib.backend()}) in these cases`).toEqual([]);
    });
  });
});

describe("concurrent init() in one realm", () => {
  it("ten concurrent init() calls resolve and create one instance; later init()/initSync() create none", async () => {
    vi.resetModules();
    const fresh = (await import("../../ts/index.js")) as Lib;
    const first = await countInstantiations(() => Array.from({ length: 10 }, () => fresh.init()));
    expect(first.statuses).toEqual(new Array(10).fill("fulfilled"));
    expect(first.instantiations).toBe(1);
    const later = await countInstantiations(() => [fresh.init(), (async () => fresh.initSync())(), fresh.init(), fresh.init()]);
    expect(later.statuses).toEqual(new Array(4).fill("fulfilled"));
    expect(later.instantiations).toBe(0);
    expect(fresh.mseLoss([1, 2, 3], [1, 2, 5], { reduction: "sum" })).toBe(4);
  });
});

describe("module instances do not mix", () => {
  it("a WasmTensor of another module instance gives the right answer or a TypeError naming the argument", async () => {
    captureWarnings();
    await lib.init();
    const baseline = lib.heapStats().allocatedBytes;
    vi.resetModules();
    const other = (await import("../../ts/index.js")) as Lib;
    expect(other).not.toBe(lib);
    await other.init();
    const otherBaseline = other.heapStats().allocatedBytes;
    const foreign = other.alloc("float32", [3]);
    foreign.view.set([1, 2, 3]);
    const local = lib.alloc("float32", [3]);
    local.view.set([9, 9, 9]);
    const withLocal = lib.heapStats().allocatedBytes;
    const zeros = Float32Array.of(0, 0, 0);
    const calls: Array<[string, () => unknown, (r: unknown) => void]> = [
      ["mseLoss", () => lib.mseLoss(foreign, zeros), (r) => expect(r).toBe(14 / 3)],
      ["mseLoss target", () => lib.mseLoss(zeros, foreign, { reduction: "sum" }), (r) => expect(r).toBe(14)],
      ["mseLossBackward", () => lib.mseLossBackward(foreign, zeros, { reduction: "sum" }), (r) => expect(Array.from((r as { data: Float32Array }).data)).toEqual([2, 4, 6])],
      ["mseLossWithGrad", () => lib.mseLossWithGrad(foreign, zeros, { reduction: "sum" }), (r) => expect((r as { loss: number }).loss).toBe(14)],
      ["weight", () => lib.mseLoss(zeros, Float32Array.of(1, 1, 1), { reduction: "sum", weight: foreign }), (r) => expect(r).toBe(6)],
      ["MeanSquaredError.update", () => new lib.MeanSquaredError().update(foreign, zeros).compute(), (r) => expect(r).toBe(14 / 3)],
    ];
    try {
      for (const [what, call, right] of calls) {
        let result: unknown;
        let error: unknown;
        try {
          result = call();
        } catch (e) {
          error = e;
        }
        if (error === undefined) right(result);
        else {
          expect(error, what).toBeInstanceOf(TypeError);
          expect((error as Error).message, what).toMatch(/input|target|weight|pred/);
        }
        expect(lib.heapStats().allocatedBytes, what).toBe(withLocal);
        expect(Array.from(local.view)).toEqual([9, 9, 9]);
        expect(Array.from(foreign.view)).toEqual([1, 2, 3]);
      }
      // As a gradient's `out` a foreign tensor is never written: a TypeError naming 'out'.
      for (const call of [() => lib.mseLossBackward(zeros, zeros, { out: foreign }), () => lib.mseLossWithGrad(zeros, zeros, { out: foreign })]) {
        expect(call).toThrow(TypeError);
        expect(call).toThrow(/argument 'out' must be .* \(got a WasmTensor from another mse-wasm module instance\)$/);
        expect(lib.heapStats().allocatedBytes).toBe(withLocal);
        expect(Array.from(foreign.view)).toEqual([1, 2, 3]);
      }
    } finally {
      foreign.dispose();
      local.dispose();
    }
    expect(lib.heapStats().allocatedBytes).toBe(baseline);
    expect(other.heapStats().allocatedBytes).toBe(otherBaseline);
  });
});
