// Seeded benchmark data. Every contender in a case reads the very same arrays.

/** xoshiro128** (32-bit state words), seeded through splitmix32; returns a uint32 generator. */
export function makeRng(seed) {
  let s = seed >>> 0;
  const splitmix32 = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix32(), b = splitmix32(), c = splitmix32(), d = splitmix32();
  return () => {
    const r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a; d ^= b; b ^= c; a ^= d; c ^= t; d = rotl(d, 11);
    return r;
  };
}
function rotl(x, k) { return ((x << k) | (x >>> (32 - k))) >>> 0; }

/** Uniform double in [-1, 1) with 53 random bits. */
function uniformSigned(next) {
  const hi = next() >>> 5, lo = next() >>> 6;           // 27 + 26 bits
  return ((hi * 67108864 + lo) / 9007199254740992) * 2 - 1;
}

/**
 * Datasets, by name:
 * - "uniform": input and target independent, uniform in [-1, 1).
 * - "similar": input = 0.1 * (1 + 0.01 u), target = 0: 16 Mi squared differences all near 0.01,
 *   the case where a float32 running sum stalls (the old PyTorch bug, TF.js's wasm Sum).
 * - "wide": values 2^k * u with k uniform in [-40, 40]: wide dynamic range, inexact differences
 *   (used to self-check the exact reference).
 */
export function makeData(dtype, n, dataset, seed = 20240605) {
  const Ctor = dtype === "float32" ? Float32Array : Float64Array;
  const input = new Ctor(n), target = new Ctor(n);
  const next = makeRng(seed ^ Math.imul(n, 2654435761) ^ (dtype === "float32" ? 0 : 0x5bd1e995));
  if (dataset === "uniform") {
    for (let i = 0; i < n; i++) { input[i] = uniformSigned(next); target[i] = uniformSigned(next); }
  } else if (dataset === "similar") {
    for (let i = 0; i < n; i++) { input[i] = 0.1 * (1 + 0.01 * uniformSigned(next)); target[i] = 0; }
  } else if (dataset === "wide") {
    for (let i = 0; i < n; i++) {
      input[i] = uniformSigned(next) * 2 ** ((next() % 81) - 40);
      target[i] = uniformSigned(next) * 2 ** ((next() % 81) - 40);
    }
  } else {
    throw new RangeError(`makeData: unknown dataset ${JSON.stringify(dataset)}`);
  }
  return { input, target };
}
