// A small seeded PRNG (mulberry32), the same in every runtime, and test data from it.

export function mulberry32(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n values in [-1, 1) times 2^k, k uniform in [-spread, spread]: many binades. */
export function spreadValues(n: number, seed: number, spread: number, dtype: "float32" | "float64"): Float32Array | Float64Array {
  const rand = mulberry32(seed);
  const out = dtype === "float32" ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const k = Math.floor(rand() * (2 * spread + 1)) - spread;
    out[i] = (rand() * 2 - 1) * 2 ** k;
  }
  return out;
}
