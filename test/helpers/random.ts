// Seeded test data from the one PRNG (mulberry32 in test/determinism.mjs), the same in every runtime.
import { prng } from "../determinism.mjs";

/** n values in [-1, 1) times 2^k, k uniform in [-spread, spread]: many binades. */
export function spreadValues(n: number, seed: number, spread: number, dtype: "float32" | "float64"): Float32Array | Float64Array {
  const rand = prng(seed);
  const out = dtype === "float32" ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const k = Math.floor(rand() * (2 * spread + 1)) - spread;
    out[i] = (rand() * 2 - 1) * 2 ** k;
  }
  return out;
}
