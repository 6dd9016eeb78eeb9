// Concurrency in the browser: Web Workers, each with its own module instance, compute
// bit-identically what the page computes; ten concurrent init() calls in a worker create
// one instance.

import { describe, expect, it } from "vitest";
import * as lib from "../../ts/index.js";
import { allCases, encodeResult, runCase } from "../determinism.mjs";
import { runInWorker } from "./runner.js";
import { captureWarnings } from "../helpers/warnings.js";

interface WorkerReport {
  backend: string;
  instances: number;
  initResults: string[];
  results: Uint8Array[];
}

describe("Web Workers", () => {
  it("two workers (SIMD and scalar) compute bit-identically what the page computes", async () => {
    captureWarnings();
    await lib.init();
    const reports = (await Promise.all([runInWorker({ kind: "digest", simd: true }), runInWorker({ kind: "digest", simd: false })])) as WorkerReport[];
    const mine = allCases().map((c) => encodeResult(runCase(lib, c)));
    reports.forEach((r, i) => {
      expect(r.backend).toBe(i === 0 ? "simd" : "scalar");
      expect(r.initResults).toEqual(new Array(10).fill("fulfilled"));
      expect(r.instances, "module instances created by ten concurrent init() calls").toBe(1);
      const differing: number[] = [];
      mine.forEach((m, k) => {
        const w = r.results[k];
        if (!w || w.length !== m.length || w.some((v, j) => v !== m[j])) differing.push(k);
      });
      expect(differing, `worker ${i} (${r.backend}) differs from the page in these cases`).toEqual([]);
    });
  });
});
