// A worker_threads worker for test/node/workers.test.ts: loads the built library
// (dist/esm) in its own realm, checks that ten concurrent init() calls instantiate the
// module once, and returns the encoded results of test/determinism.mjs's cases.
import process from "node:process";
import { parentPort, workerData } from "node:worker_threads";

// The cases trigger the library's (expected) warnings; keep them off the test output.
process.removeAllListeners("warning");

// Count instantiations of the mse-wasm module before the library can call them.
let instances = 0;
const countIfMse = (instance) => {
  if (instance && typeof instance.exports.mse_alloc === "function") instances++;
};
const instantiate = WebAssembly.instantiate;
WebAssembly.instantiate = async function (...args) {
  const result = await instantiate.apply(this, args);
  countIfMse(result instanceof WebAssembly.Instance ? result : result.instance);
  return result;
};
const OriginalInstance = WebAssembly.Instance;
function CountingInstance(module, imports) {
  const instance = new OriginalInstance(module, imports);
  countIfMse(instance);
  return instance;
}
CountingInstance.prototype = OriginalInstance.prototype;
WebAssembly.Instance = CountingInstance;

const lib = await import(workerData.entry);
const { encodedResults } = await import(workerData.cases);

const first = lib.init(workerData.simd === false ? { simd: false } : undefined);
const settled = await Promise.allSettled([first, ...Array.from({ length: 9 }, () => lib.init())]);
const results = encodedResults(lib);
parentPort.postMessage({
  backend: lib.backend(),
  instances,
  initResults: settled.map((s) => s.status),
  results,
  heap: lib.heapStats(),
});
