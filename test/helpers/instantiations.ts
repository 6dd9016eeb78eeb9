// Counts the mse-wasm module instances created while some init() calls run (through
// WebAssembly.instantiate or `new WebAssembly.Instance`). No vitest import: the Web Worker
// of test/helpers/instance-worker.ts uses it.

export interface ConcurrentInits {
  /** "fulfilled" or "rejected", per call */
  statuses: string[];
  /** mse-wasm instances created meanwhile */
  instantiations: number;
}

const isMse = (instance: unknown): boolean =>
  instance instanceof WebAssembly.Instance && typeof (instance.exports as Record<string, unknown>).mse_alloc === "function";

let counting = false;

/**
 * Runs the promises `start` returns side by side, counting mse-wasm instantiations. Not
 * re-entrant: the counters patch this realm's WebAssembly, so overlapping counts in one
 * realm would count each other's instances (and restore the globals out of order).
 */
export async function countInstantiations(start: () => Array<Promise<unknown>>): Promise<ConcurrentInits> {
  if (counting) throw new Error("countInstantiations: already counting in this realm");
  counting = true;
  const wasm = WebAssembly as unknown as Record<string, unknown>;
  const instantiate = WebAssembly.instantiate;
  const Instance = WebAssembly.Instance;
  let instantiations = 0;
  wasm.instantiate = async function (this: unknown, ...args: unknown[]) {
    const r = (await (instantiate as (...a: unknown[]) => Promise<unknown>).apply(this, args)) as
      | WebAssembly.Instance
      | WebAssembly.WebAssemblyInstantiatedSource;
    if (isMse(r instanceof WebAssembly.Instance ? r : r.instance)) instantiations++;
    return r;
  };
  function CountingInstance(module: WebAssembly.Module, imports?: WebAssembly.Imports): WebAssembly.Instance {
    const instance = new Instance(module, imports);
    if (isMse(instance)) instantiations++;
    return instance;
  }
  CountingInstance.prototype = Instance.prototype;
  wasm.Instance = CountingInstance;
  try {
    const settled = await Promise.allSettled(start());
    return { statuses: settled.map((s) => s.status), instantiations };
  } finally {
    wasm.instantiate = instantiate;
    wasm.Instance = Instance;
    counting = false;
  }
}
