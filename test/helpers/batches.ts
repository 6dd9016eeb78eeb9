// The two batch jobs an extra module instance runs, shared by the in-thread instance and
// the Web Worker of test/helpers/instance.ts. No vitest import: the worker uses it.
import type { Case } from "../cases.js";
import { describeCase, runAll } from "../cases.js";
import { encodedResults } from "../determinism.mjs";
import type { Lib } from "./calls.js";

/** The encoded results of test/determinism.mjs's cases. */
export function digestResults(lib: Lib): Uint8Array[] {
  return encodedResults(lib);
}

/** Every API on each case (test/cases.ts); throws if the heap does not return to its baseline. */
export function propertyResults(lib: Lib, cases: Case[]): unknown[][] {
  const base = lib.heapStats().allocatedBytes;
  return cases.map((c) => {
    const r = runAll(lib, c);
    if (lib.heapStats().allocatedBytes !== base) throw new Error(`${lib.backend()} instance leaked after ${describeCase(c)}`);
    return r;
  });
}
