// The kernels' sum of squared differences for at most 16 elements, in plain JS.
// mseLossWithGrad's direct path computes tiny inputs here (with the elementwise
// gradient) instead of copying them in, calling the fused kernel and copying out. This is not an approximation: it replays crate/src/kernels.rs step by
// step (one zero-padded step, one block flush, TwoSum into a zero state, the final
// combine), with Math.fround for every float32 operation, so it returns the same bits
// as both wasm builds. test/small.test.ts checks that on every length 0..16.

/** Largest length the JS replay handles. */
export const SMALL_MAX = 16;

const terms = new Float64Array(SMALL_MAX);

/**
 * Σ(a−b)² over `n <= 16` float32 elements `a[ia..]`, `b[ib..]`, bit-identical to
 * `mse_sum_f32`.
 */
export function smallSum32(a: ArrayLike<number>, ia: number, b: ArrayLike<number>, ib: number, n: number): number {
  const t = terms;
  for (let i = 0; i < SMALL_MAX; i++) {
    if (i < n) {
      // One float32 rounding per operation, as f32x4.sub / f32x4.mul do (a double
      // operation on two float32 values rounded to float32 is the float32 result).
      const d = Math.fround((a[ia + i] as number) - (b[ib + i] as number));
      t[i] = Math.fround(d * d);
    } else {
      t[i] = 0;
    }
  }
  // Four f32x4 accumulators hold terms 0-3, 4-7, 8-11, 12-15; `widen` adds lanes 0+2 and
  // 1+3 in float64; the block combines accumulators as (p0 + p1) + (p2 + p3).
  const l0 = ((t[0] as number) + (t[2] as number) + ((t[4] as number) + (t[6] as number))) +
    ((t[8] as number) + (t[10] as number) + ((t[12] as number) + (t[14] as number)));
  const l1 = ((t[1] as number) + (t[3] as number) + ((t[5] as number) + (t[7] as number))) +
    ((t[9] as number) + (t[11] as number) + ((t[13] as number) + (t[15] as number)));
  return combine(l0, l1);
}

/** As `smallSum32` for float64 elements, bit-identical to `mse_sum_f64`. */
export function smallSum64(a: ArrayLike<number>, ia: number, b: ArrayLike<number>, ib: number, n: number): number {
  const t = terms;
  for (let i = 0; i < SMALL_MAX; i++) {
    if (i < n) {
      const d = (a[ia + i] as number) - (b[ib + i] as number);
      t[i] = d * d;
    } else {
      t[i] = 0;
    }
  }
  // Four f64x2 accumulators; step 1 holds terms 0-7, step 2 terms 8-15 (a padded step
  // of zeros adds exactly nothing, so n <= 8 needs no special case).
  const a0 = (t[0] as number) + (t[8] as number);
  const a1 = (t[1] as number) + (t[9] as number);
  const b0 = (t[2] as number) + (t[10] as number);
  const b1 = (t[3] as number) + (t[11] as number);
  const c0 = (t[4] as number) + (t[12] as number);
  const c1 = (t[5] as number) + (t[13] as number);
  const d0 = (t[6] as number) + (t[14] as number);
  const d1 = (t[7] as number) + (t[15] as number);
  return combine(a0 + b0 + (c0 + d0), a1 + b1 + (c1 + d1));
}

/**
 * The block's two float64 lanes added into a zero TwoSum state, then
 * `Compensated::value`: with a zero state the compensation words are exactly 0.
 */
function combine(l0: number, l1: number): number {
  const hi = l0 + l1;
  if (!Number.isFinite(hi)) return hi;
  const bp = hi - l0;
  const err = l0 - (hi - bp) + (l1 - bp);
  return hi + err;
}
