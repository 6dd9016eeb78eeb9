// An independent mse-wasm module instance for the tests that need a second one (the SIMD
// and the scalar build side by side; a module that was never initialised). In Node,
// vi.resetModules() + a dynamic import gives one; in the browser, where the module
// cache cannot be reset, a module Web Worker does (its own module graph).
import { vi } from "vitest";
import type { Case } from "../cases.js";
import { digestResults, propertyResults } from "./batches.js";
import { runCall, type Call, type Outcome } from "./calls.js";
import { countInstantiations, type ConcurrentInits } from "./instantiations.mjs";

export interface Instance {
  /** where the instance lives */
  readonly where: "module" | "worker";
  /** `init(options)`; rejects with the library's error */
  init(options?: { simd?: boolean }): Promise<void>;
  /** `count` init() calls side by side (the first with `options`), and the instances they made */
  initConcurrently(count: number, options?: { simd?: boolean }): Promise<ConcurrentInits>;
  backend(): Promise<string>;
  run(calls: Call[]): Promise<Outcome[]>;
  /** the encoded results of test/determinism.mjs's cases */
  digest(): Promise<Uint8Array[]>;
  /** every API on each case (test/cases.ts); rejects if the heap does not return to its baseline */
  property(cases: Case[]): Promise<unknown[][]>;
  close(): void;
}

export function inBrowser(): boolean {
  return typeof (globalThis as { document?: unknown }).document !== "undefined";
}

/** A fresh, uninitialised instance. */
export async function freshInstance(): Promise<Instance> {
  return inBrowser() ? workerInstance() : moduleInstance();
}

async function moduleInstance(): Promise<Instance> {
  vi.resetModules();
  const lib = await import("../../ts/index.js");
  return {
    where: "module",
    init: (options) => lib.init(options),
    initConcurrently: (count, options) =>
      countInstantiations(() => Array.from({ length: count }, (_, k) => lib.init(k === 0 ? options : undefined))),
    backend: async () => lib.backend(),
    run: async (calls) => calls.map((c) => runCall(lib, c)),
    digest: async () => digestResults(lib),
    property: async (cases) => propertyResults(lib, cases),
    close: () => {},
  };
}

function workerInstance(): Instance {
  const worker = new Worker(new URL("./instance-worker.ts", import.meta.url), { type: "module" });
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  worker.addEventListener("message", (ev: MessageEvent<{ id: number; value?: unknown; ok?: boolean; error?: string }>) => {
    const p = pending.get(ev.data.id);
    if (p === undefined) return;
    pending.delete(ev.data.id);
    if (ev.data.error !== undefined) p.reject(new Error(ev.data.error));
    else p.resolve(ev.data.value);
  });
  worker.addEventListener("error", (ev: ErrorEvent) => {
    for (const p of pending.values()) p.reject(new Error(`worker error: ${ev.message}`));
    pending.clear();
  });
  const request = (body: Record<string, unknown>): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, ...body });
    });
  return {
    where: "worker",
    init: async (options) => {
      await request({ op: "init", options });
    },
    initConcurrently: async (count, options) => (await request({ op: "initConcurrently", count, options })) as ConcurrentInits,
    backend: async () => (await request({ op: "backend" })) as string,
    run: async (calls) => (await request({ op: "run", calls })) as Outcome[],
    digest: async () => (await request({ op: "digest" })) as Uint8Array[],
    property: async (cases) => (await request({ op: "property", cases })) as unknown[][],
    close: () => worker.terminate(),
  };
}
