// A Web Worker with its own mse-wasm instance, for the browser suites (test/browser/runner.ts):
//   { kind: "digest", simd }    ten concurrent init() calls (instantiations counted), then the
//                               encoded results of test/determinism.mjs's cases
//   { kind: "property", simd, cases }  every API on each generated case (test/cases.ts)
import { allCases, encodeResult, runCase } from "../determinism.mjs";
import type { Case } from "../cases.js";
import { describeCase, runAll } from "../cases.js";
import type { Lib } from "../forms.js";

let instances = 0;
const count = (instance: WebAssembly.Instance | undefined): void => {
  if (instance && typeof (instance.exports as Record<string, unknown>).mse_alloc === "function") instances++;
};
const wasm = WebAssembly as unknown as Record<string, unknown>;
const originalInstantiate = WebAssembly.instantiate;
wasm.instantiate = async function (this: unknown, ...args: unknown[]) {
  const r = (await (originalInstantiate as (...a: unknown[]) => Promise<unknown>).apply(this, args)) as
    | WebAssembly.Instance
    | WebAssembly.WebAssemblyInstantiatedSource;
  count(r instanceof WebAssembly.Instance ? r : r.instance);
  return r;
};

// Warnings go to console.warn in a browser; the cases' warnings are expected.
console.warn = () => {};

type Message = { kind: "digest"; simd: boolean } | { kind: "property"; simd: boolean; cases: Case[] };

self.onmessage = async (event: MessageEvent<Message>) => {
  try {
    const lib = (await import("../../ts/index.js")) as Lib;
    const msg = event.data;
    const first = lib.init(msg.simd ? undefined : { simd: false });
    const settled = await Promise.allSettled([first, ...Array.from({ length: 9 }, () => lib.init())]);
    const initResults = settled.map((s) => s.status);
    if (msg.kind === "digest") {
      const results = allCases().map((c) => encodeResult(runCase(lib, c)));
      self.postMessage({ backend: lib.backend(), instances, initResults, results });
      return;
    }
    const base = lib.heapStats().allocatedBytes;
    const results = msg.cases.map((c) => {
      const r = runAll(lib, c);
      if (lib.heapStats().allocatedBytes !== base) throw new Error(`${lib.backend()} instance leaked after ${describeCase(c)}`);
      return r;
    });
    self.postMessage({ backend: lib.backend(), instances, initResults, results });
  } catch (e) {
    self.postMessage({ error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
  }
};
