// Concurrency in the browser: Web Workers, each with its own module instance, compute
// bit-identically what the page computes; ten concurrent init() calls in a worker create
// one instance.

import { describe, expect, it } from "vitest";
import * as lib from "../../ts/index.js";
import { differingCases, encodedResults } from "../determinism.mjs";
import { freshInstance } from "../helpers/instance.js";
import { captureWarnings } from "../helpers/warnings.js";

describe("Web Workers", () => {
  it("two workers (SIMD and scalar) compute bit-identically what the page computes", async () => {
    captureWarnings();
    await lib.init();
    const workers = [await freshInstance(), await freshInstance()];
    try {
      expect(workers.map((w) => w.where)).toEqual(["worker", "worker"]);
      const inits = await Promise.all([workers[0]!.initConcurrently(10), workers[1]!.initConcurrently(10, { simd: false })]);
      const mine = encodedResults(lib);
      for (const [i, w] of workers.entries()) {
        expect(await w.backend()).toBe(i === 0 ? "simd" : "scalar");
        expect(inits[i]!.statuses).toEqual(new Array(10).fill("fulfilled"));
        expect(inits[i]!.instantiations, "module instances created by ten concurrent init() calls").toBe(1);
        expect(differingCases(await w.digest(), mine), `worker ${i} (${await w.backend()}) differs from the page in these cases`).toEqual([]);
      }
    } finally {
      for (const w of workers) w.close();
    }
  });
});
