// The kernels' arithmetic for at most 16 elements, in plain JS: the sum of squared
// differences, the elementwise squares and the gradient. The direct paths (ts/loss.ts,
// ts/grad.ts) compute tiny typed arrays and number[] pairs here instead of copying them
// into wasm memory (two TypedArray#set calls cost more than this whole sum), and tiny
// WasmTensors too, read through the memory view, to skip the kernels' chunk driver and
// the copy out. This is not an approximation: it replays
// crate/src/kernels.rs step by step (one step, or one zero-padded step, of four
// accumulators; the block's combination and widening; the final lane sum) with Math.fround
// for every float32 operation, so it returns the same bits as both wasm builds.
// test/small.test.ts checks that on every length 0..16.
//
// The block goes into a zero compensated state, whose TwoSum and `value` round back to
// the plain sum of the two widened lanes (proof at `kernels::sum_squared_once`): the
// replay ends with that sum of its two lanes.

/** Largest length the JS replay handles. */
export const SMALL_MAX = 16;

const fround = Math.fround;

/**
 * One float32 term, rounded as f32x4.sub and f32x4.mul round (a double operation on
 * two float32 values, rounded to float32, is the float32 result).
 */
function term32(a: ArrayLike<number>, ia: number, b: ArrayLike<number>, ib: number, i: number): number {
  const d = fround((a[ia + i] as number) - (b[ib + i] as number));
  return fround(d * d);
}

/** `term32`, or the zero padding at and after `n`. */
function padded32(a: ArrayLike<number>, ia: number, b: ArrayLike<number>, ib: number, i: number, n: number): number {
  return i < n ? term32(a, ia, b, ib, i) : 0;
}

/**
 * Σ(a−b)² over the `n <= 16` float32 elements `a[ia..]` and `b[ib..]`, bit-identical to
 * `mse_sum_once_f32`.
 */
export function smallSum32(a: ArrayLike<number>, ia: number, b: ArrayLike<number>, ib: number, n: number): number {
  // Four f32x4 accumulators hold terms 0-3, 4-7, 8-11, 12-15 (one step: each lane is its
  // term exactly); the block adds them in float32 as (acc0 + acc1) + (acc2 + acc3), lane
  // by lane; `widen` adds lanes 0+2 and 1+3 in float64. A whole step is written out
  // without the padding checks: the float conversions alone are most of its cost.
  if (n === SMALL_MAX) {
    const x0 = fround(fround(term32(a, ia, b, ib, 0) + term32(a, ia, b, ib, 4)) + fround(term32(a, ia, b, ib, 8) + term32(a, ia, b, ib, 12)));
    const x1 = fround(fround(term32(a, ia, b, ib, 1) + term32(a, ia, b, ib, 5)) + fround(term32(a, ia, b, ib, 9) + term32(a, ia, b, ib, 13)));
    const x2 = fround(fround(term32(a, ia, b, ib, 2) + term32(a, ia, b, ib, 6)) + fround(term32(a, ia, b, ib, 10) + term32(a, ia, b, ib, 14)));
    const x3 = fround(fround(term32(a, ia, b, ib, 3) + term32(a, ia, b, ib, 7)) + fround(term32(a, ia, b, ib, 11) + term32(a, ia, b, ib, 15)));
    return x0 + x2 + (x1 + x3);
  }
  const x0 = fround(fround(padded32(a, ia, b, ib, 0, n) + padded32(a, ia, b, ib, 4, n)) + fround(padded32(a, ia, b, ib, 8, n) + padded32(a, ia, b, ib, 12, n)));
  const x1 = fround(fround(padded32(a, ia, b, ib, 1, n) + padded32(a, ia, b, ib, 5, n)) + fround(padded32(a, ia, b, ib, 9, n) + padded32(a, ia, b, ib, 13, n)));
  const x2 = fround(fround(padded32(a, ia, b, ib, 2, n) + padded32(a, ia, b, ib, 6, n)) + fround(padded32(a, ia, b, ib, 10, n) + padded32(a, ia, b, ib, 14, n)));
  const x3 = fround(fround(padded32(a, ia, b, ib, 3, n) + padded32(a, ia, b, ib, 7, n)) + fround(padded32(a, ia, b, ib, 11, n) + padded32(a, ia, b, ib, 15, n)));
  return x0 + x2 + (x1 + x3);
}

/** One float64 term. */
function term64(a: ArrayLike<number>, ia: number, b: ArrayLike<number>, ib: number, i: number): number {
  const d = (a[ia + i] as number) - (b[ib + i] as number);
  return d * d;
}

/** `term64`, or the zero padding at and after `n`. */
function padded64(a: ArrayLike<number>, ia: number, b: ArrayLike<number>, ib: number, i: number, n: number): number {
  return i < n ? term64(a, ia, b, ib, i) : 0;
}

/** As `smallSum32` for float64 elements, bit-identical to `mse_sum_once_f64`. */
export function smallSum64(a: ArrayLike<number>, ia: number, b: ArrayLike<number>, ib: number, n: number): number {
  // Four f64x2 accumulators; step 1 holds terms 0-7, step 2 adds terms 8-15 (a padded
  // step of zeros adds exactly nothing, so n <= 8 needs no special case).
  if (n === SMALL_MAX) {
    const a0 = term64(a, ia, b, ib, 0) + term64(a, ia, b, ib, 8);
    const a1 = term64(a, ia, b, ib, 1) + term64(a, ia, b, ib, 9);
    const b0 = term64(a, ia, b, ib, 2) + term64(a, ia, b, ib, 10);
    const b1 = term64(a, ia, b, ib, 3) + term64(a, ia, b, ib, 11);
    const c0 = term64(a, ia, b, ib, 4) + term64(a, ia, b, ib, 12);
    const c1 = term64(a, ia, b, ib, 5) + term64(a, ia, b, ib, 13);
    const d0 = term64(a, ia, b, ib, 6) + term64(a, ia, b, ib, 14);
    const d1 = term64(a, ia, b, ib, 7) + term64(a, ia, b, ib, 15);
    return a0 + b0 + (c0 + d0) + (a1 + b1 + (c1 + d1));
  }
  const a0 = padded64(a, ia, b, ib, 0, n) + padded64(a, ia, b, ib, 8, n);
  const a1 = padded64(a, ia, b, ib, 1, n) + padded64(a, ia, b, ib, 9, n);
  const b0 = padded64(a, ia, b, ib, 2, n) + padded64(a, ia, b, ib, 10, n);
  const b1 = padded64(a, ia, b, ib, 3, n) + padded64(a, ia, b, ib, 11, n);
  const c0 = padded64(a, ia, b, ib, 4, n) + padded64(a, ia, b, ib, 12, n);
  const c1 = padded64(a, ia, b, ib, 5, n) + padded64(a, ia, b, ib, 13, n);
  const d0 = padded64(a, ia, b, ib, 6, n) + padded64(a, ia, b, ib, 14, n);
  const d1 = padded64(a, ia, b, ib, 7, n) + padded64(a, ia, b, ib, 15, n);
  return a0 + b0 + (c0 + d0) + (a1 + b1 + (c1 + d1));
}

/**
 * A replay's results before they go into a caller's `out` (every operand is read before
 * `out` is written, however their memory overlaps): one scratch, never live twice.
 */
export const smallScratch = new Float64Array(SMALL_MAX);

/**
 * `(x - y)^2` elementwise into `out[0 .. n)` (`reduction: "none"`), each term as the
 * kernel rounds it (`term32` / `term64`).
 */
export function smallSquares(x: ArrayLike<number>, ia: number, y: ArrayLike<number>, ib: number, n: number, f32: boolean, out: Float32Array | Float64Array): void {
  if (f32) {
    for (let i = 0; i < n; i++) out[i] = term32(x, ia, y, ib, i);
  } else {
    for (let i = 0; i < n; i++) out[i] = term64(x, ia, y, ib, i);
  }
}

/** The squared terms of the fused replay, zero-padded to SMALL_MAX (see smallGradSum32). */
const terms = new Float64Array(SMALL_MAX);

/**
 * The gradient of the fused replay for `n <= 16` float32 elements, into `g`:
 * `((x - y) * norm) * gs` as the kernel computes it (each operation rounded to float32;
 * the last rounding is the store when `g` is a Float32Array, else the caller's); with
 * `withSum` also Σ(x−y)², bit-identical to `smallSum32` (and `mse_sum_once_f32`), from
 * the same differences: one pass over the operands for both. Returns the sum, or 0.
 */
export function smallGradSum32(
  x: ArrayLike<number>,
  ia: number,
  y: ArrayLike<number>,
  ib: number,
  n: number,
  norm: number,
  gs: number,
  g: Float32Array | Float64Array,
  withSum: boolean,
): number {
  const g32 = fround(gs);
  for (let i = 0; i < n; i++) {
    const d = fround((x[ia + i] as number) - (y[ib + i] as number));
    if (withSum) terms[i] = fround(d * d);
    g[i] = gs === 1 ? d * norm : fround(d * norm) * g32;
  }
  if (!withSum) return 0;
  for (let i = n; i < SMALL_MAX; i++) terms[i] = 0;
  const t = terms;
  // the lanes and tree of smallSum32
  const x0 = fround(fround((t[0] as number) + (t[4] as number)) + fround((t[8] as number) + (t[12] as number)));
  const x1 = fround(fround((t[1] as number) + (t[5] as number)) + fround((t[9] as number) + (t[13] as number)));
  const x2 = fround(fround((t[2] as number) + (t[6] as number)) + fround((t[10] as number) + (t[14] as number)));
  const x3 = fround(fround((t[3] as number) + (t[7] as number)) + fround((t[11] as number) + (t[15] as number)));
  return x0 + x2 + (x1 + x3);
}

/** `smallGradSum32` for float64 elements (`smallSum64`'s lanes and tree). */
export function smallGradSum64(
  x: ArrayLike<number>,
  ia: number,
  y: ArrayLike<number>,
  ib: number,
  n: number,
  norm: number,
  gs: number,
  g: Float32Array | Float64Array,
  withSum: boolean,
): number {
  for (let i = 0; i < n; i++) {
    const d = (x[ia + i] as number) - (y[ib + i] as number);
    if (withSum) terms[i] = d * d;
    g[i] = gs === 1 ? d * norm : d * norm * gs;
  }
  if (!withSum) return 0;
  for (let i = n; i < SMALL_MAX; i++) terms[i] = 0;
  const t = terms;
  const a0 = (t[0] as number) + (t[8] as number);
  const a1 = (t[1] as number) + (t[9] as number);
  const b0 = (t[2] as number) + (t[10] as number);
  const b1 = (t[3] as number) + (t[11] as number);
  const c0 = (t[4] as number) + (t[12] as number);
  const c1 = (t[5] as number) + (t[13] as number);
  const d0 = (t[6] as number) + (t[14] as number);
  const d1 = (t[7] as number) + (t[15] as number);
  return a0 + b0 + (c0 + d0) + (a1 + b1 + (c1 + d1));
}
