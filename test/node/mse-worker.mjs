// A worker_threads worker for test/node/workers.test.ts: loads the built library
// (dist/esm) in its own realm, checks that ten concurrent init() calls instantiate the
// module once, and returns the encoded results of test/determinism.mjs's cases.
import process from "node:process";
import { parentPort, workerData } from "node:worker_threads";

// The cases trigger the library's (expected) warnings; keep them off the test output.
process.removeAllListeners("warning");

const lib = await import(workerData.entry);
const { encodedResults } = await import(workerData.cases);
const { countInstantiations } = await import(workerData.instantiations);

const { statuses, instantiations } = await countInstantiations(() => [
  lib.init(workerData.simd === false ? { simd: false } : undefined),
  ...Array.from({ length: 9 }, () => lib.init()),
]);
const results = encodedResults(lib);
parentPort.postMessage({
  backend: lib.backend(),
  instances: instantiations,
  initResults: statuses,
  results,
  heap: lib.heapStats(),
});
