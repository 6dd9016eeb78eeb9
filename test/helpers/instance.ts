// An independent mse-wasm module instance for the tests that need a second one (the SIMD
// and the scalar build side by side; a module that was never initialised). In Node,
// vi.resetModules() + a dynamic import gives one; in the browser, where the module
// cache cannot be reset, a module Web Worker does (its own module graph).
import { vi } from "vitest";
import { runCall, type Call, type Outcome } from "./calls.js";

export interface Instance {
  /** where the instance lives */
  readonly where: "module" | "worker";
  /** `init(options)`; rejects with the library's error */
  init(options?: { simd?: boolean }): Promise<void>;
  backend(): Promise<string>;
  run(calls: Call[]): Promise<Outcome[]>;
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
    backend: async () => lib.backend(),
    run: async (calls) => calls.map((c) => runCall(lib, c)),
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
    backend: async () => (await request({ op: "backend" })) as string,
    run: async (calls) => (await request({ op: "run", calls })) as Outcome[],
    close: () => worker.terminate(),
  };
}
