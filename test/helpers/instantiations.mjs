// Counts the mse-wasm module instances created while some init() calls run (through
// WebAssembly.instantiate or `new WebAssembly.Instance`). Plain JavaScript with no vitest
// import: the Web Worker of test/helpers/instance-worker.ts and the worker_threads worker
// of test/node/mse-worker.mjs (which cannot load TypeScript on Node 20) use it too.
// Types: instantiations.d.mts.

const isMse = (instance) => instance instanceof WebAssembly.Instance && typeof instance.exports.mse_alloc === "function";

let counting = false;

/**
 * Runs the promises `start` returns side by side, counting mse-wasm instantiations. Not
 * re-entrant: the counters patch this realm's WebAssembly, so overlapping counts in one
 * realm would count each other's instances (and restore the globals out of order).
 */
export async function countInstantiations(start) {
  if (counting) throw new Error("countInstantiations: already counting in this realm");
  counting = true;
  const instantiate = WebAssembly.instantiate;
  const Instance = WebAssembly.Instance;
  let instantiations = 0;
  WebAssembly.instantiate = async function (...args) {
    const r = await instantiate.apply(this, args);
    if (isMse(r instanceof WebAssembly.Instance ? r : r.instance)) instantiations++;
    return r;
  };
  function CountingInstance(module, imports) {
    const instance = new Instance(module, imports);
    if (isMse(instance)) instantiations++;
    return instance;
  }
  CountingInstance.prototype = Instance.prototype;
  WebAssembly.Instance = CountingInstance;
  try {
    const settled = await Promise.allSettled(start());
    return { statuses: settled.map((s) => s.status), instantiations };
  } finally {
    WebAssembly.instantiate = instantiate;
    WebAssembly.Instance = Instance;
    counting = false;
  }
}
