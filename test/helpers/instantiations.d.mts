// Types of test/helpers/instantiations.mjs.

export interface ConcurrentInits {
  /** "fulfilled" or "rejected", per call */
  statuses: string[];
  /** mse-wasm instances created meanwhile */
  instantiations: number;
}

/** Runs the promises `start` returns side by side, counting mse-wasm instantiations (not re-entrant). */
export function countInstantiations(start: () => Array<Promise<unknown>>): Promise<ConcurrentInits>;
