// Exact sums of squared differences with BigInt, for the accuracy bounds of API.md.
//
// Every finite float is m * 2^e with an integer m (|m| < 2^53). Scaling all operands
// to the smallest exponent E present turns x - y into an exact integer D (times 2^E),
// so sum((x - y)^2) = (sum D^2) * 2^(2E) exactly; BigInt holds any size.

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
// The typed-array views below assume a little-endian engine; check it once.
f64[0] = 1;
if (u32[1] !== 0x3ff00000) throw new Error("exact.ts: big-endian engines are not supported");

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/**
 * Splits finite `v` into an odd integer mantissa (or 0) and an exponent:
 * v = mant * 2^exp exactly. Writes them to out[0], out[1].
 */
function decompose(v: number, out: Float64Array): void {
  f64[0] = v;
  const lo = u32[0];
  const hi = u32[1];
  const biased = (hi >>> 20) & 0x7ff;
  if (biased === 0x7ff) throw new Error(`exact.ts: ${v} is not finite`);
  const fracHi = hi & 0xfffff;
  let mant: number;
  let exp: number;
  if (biased === 0) {
    mant = fracHi * 4294967296 + lo;
    exp = -1074;
  } else {
    mant = (fracHi + 0x100000) * 4294967296 + lo;
    exp = biased - 1075;
  }
  if (mant === 0) {
    out[0] = 0;
    out[1] = 0;
    return;
  }
  // strip trailing zeros so float32 values keep 24-bit mantissas
  const tz = lo !== 0 ? ctz32(lo) : 32 + ctz32(mant / 4294967296);
  mant /= 2 ** tz;
  exp += tz;
  out[0] = hi >>> 31 ? -mant : mant;
  out[1] = exp;
}

/** value = mant * 2^exp */
export interface ExactValue {
  mant: bigint;
  exp: number;
}

/** ldexp without intermediate overflow or underflow for the ranges used here. */
function scale2(x: number, exp: number): number {
  let e = exp;
  let r = x;
  while (e > 1000) {
    r *= 2 ** 1000;
    e -= 1000;
  }
  while (e < -1000) {
    r *= 2 ** -1000;
    e += 1000;
  }
  return r * 2 ** e;
}

/** The exact value rounded once to the nearest double (for values in the normal range). */
export function toNumber(v: ExactValue): number {
  if (v.mant === 0n) return 0;
  // Number(bigint) rounds to nearest; keep the scaling exact by shifting big mantissas
  // down only by whole bits already lost to that rounding.
  const bits = v.mant.toString(2).length;
  if (bits > 1000) {
    const shift = bits - 1000;
    return scale2(Number(v.mant >> BigInt(shift)), v.exp + shift);
  }
  return scale2(Number(v.mant), v.exp);
}

/**
 * Exact sum over i of (x[i] - y[j(i)])^2, where `targetIndex` maps each element of the
 * (broadcast) loss to the index of `y` (identity when omitted; x is indexed by i).
 * All values must be finite.
 */
export function exactSumSquaredDiff(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  targetIndex?: (i: number) => number,
): ExactValue {
  const n = x.length;
  const yIdx = targetIndex ?? ((i: number): number => i);
  const tmp = new Float64Array(2);
  const xm = new Float64Array(n);
  const xe = new Int32Array(n);
  const ym = new Float64Array(y.length);
  const ye = new Int32Array(y.length);
  let minExp = Infinity;
  for (let i = 0; i < n; i++) {
    decompose(x[i], tmp);
    xm[i] = tmp[0];
    xe[i] = tmp[1];
    if (tmp[0] !== 0 && tmp[1] < minExp) minExp = tmp[1];
  }
  for (let i = 0; i < y.length; i++) {
    decompose(y[i], tmp);
    ym[i] = tmp[0];
    ye[i] = tmp[1];
    if (tmp[0] !== 0 && tmp[1] < minExp) minExp = tmp[1];
  }
  if (minExp === Infinity) return { mant: 0n, exp: 0 };
  const E = minExp;
  let acc = 0n;
  for (let i = 0; i < n; i++) {
    const j = yIdx(i);
    const ma = xm[i];
    const mb = ym[j];
    const ka = xe[i] - E;
    const kb = ye[j] - E;
    // Fast path: both scaled integers below 2^52, so their difference is exact.
    const sa = ma === 0 ? 0 : ma * 2 ** ka;
    const sb = mb === 0 ? 0 : mb * 2 ** kb;
    let d: bigint;
    if (Math.abs(sa) < 2 ** 52 && Math.abs(sb) < 2 ** 52) {
      d = BigInt(sa - sb);
    } else {
      d = (BigInt(ma) << BigInt(ka)) - (BigInt(mb) << BigInt(kb));
    }
    acc += d * d;
  }
  return { mant: acc, exp: 2 * E };
}

/** Relative error of `got` against an exact value (as a double; 0 when both are 0). */
export function relativeError(got: number, exact: ExactValue, divisor = 1): number {
  const want = toNumber(exact) / divisor;
  if (want === 0) return got === 0 ? 0 : Infinity;
  return Math.abs(got - want) / Math.abs(want);
}
