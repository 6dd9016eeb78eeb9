// Exact references for sum((x - y)^2).
//
// Method (used for every reference in the tables): each difference d = x - y is split exactly
// into s + e with TwoSum, d^2 = s^2 + 2se + e^2 is split exactly into six doubles with Dekker's
// TwoProduct, and all terms go into a Shewchuk/`math.fsum` accumulator of non-overlapping
// partials, rounded once at the end. No rounding happens before that final step, so the sum is
// the exact real sum correctly rounded to a double (valid for any float32 data and for float64
// data away from overflow/underflow, i.e. |x|, |y| in about [2^-480, 2^500]).
// `bigIntSumSq` redoes the sum in integer arithmetic and is used as a self-check.

const SPLIT = 134217729; // 2^27 + 1, Dekker's splitter for doubles

/** fsum-style exact accumulator of doubles (Shewchuk's non-overlapping partials, as CPython). */
export class ExactSum {
  constructor() { this.p = new Float64Array(64); this.n = 0; this.special = 0; }
  add(x) {
    if (x === 0) return;
    if (!Number.isFinite(x)) { this.special += x; return; }
    const p = this.p;
    let i = 0;
    for (let j = 0; j < this.n; j++) {
      let y = p[j];
      if (Math.abs(x) < Math.abs(y)) { const t = x; x = y; y = t; }
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) p[i++] = lo;
      x = hi;
    }
    if (i >= p.length) { const q = new Float64Array(p.length * 2); q.set(p); this.p = q; }
    this.p[i] = x;
    this.n = i + 1;
  }
  /** The exact sum, correctly rounded (CPython's math.fsum final step). */
  value() {
    if (this.special !== 0) return this.special;
    const p = this.p;
    let n = this.n, hi = 0;
    if (n > 0) {
      hi = p[--n];
      let lo = 0;
      while (n > 0) {
        const x = hi, y = p[--n];
        hi = x + y;
        const yr = hi - x;
        lo = y - yr;
        if (lo !== 0) break;
      }
      if (n > 0 && ((lo < 0 && p[n - 1] < 0) || (lo > 0 && p[n - 1] > 0))) {
        const y = lo * 2, x = hi + y, yr = x - hi;
        if (y === yr) hi = x;
      }
    }
    return hi;
  }
}

/** Adds the exact value of (x - y)^2 to acc as up to six exact double terms. */
function addSquaredDiff(acc, x, y) {
  const s = x - y;                       // TwoSum(x, -y): d = s + e exactly
  const bb = s - x;
  const e = (x - (s - bb)) + (-y - bb);
  twoProductInto(acc, s, s);
  if (e !== 0) { twoProductInto(acc, 2 * s, e); twoProductInto(acc, e, e); }
}

function twoProductInto(acc, a, b) {
  const p = a * b;
  let t = SPLIT * a; const ah = t - (t - a), al = a - ah;
  t = SPLIT * b; const bh = t - (t - b), bl = b - bh;
  const err = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
  acc.add(p);
  if (err !== 0) acc.add(err);
}

/**
 * Exact sum((x - y)^2) over two equal-length arrays, correctly rounded to a double,
 * and the mean (that sum / n: one more rounding, <= 1 ulp, far below every tolerance here).
 */
export function exactSumSq(x, y) {
  const n = x.length;
  const acc = new ExactSum();
  // Cheap pre-accumulation would reintroduce rounding, so every term goes to the partials;
  // the partial list stays short (a few entries) because all s^2 terms are positive.
  for (let i = 0; i < n; i++) addSquaredDiff(acc, x[i], y[i]);
  const sum = acc.value();
  return { sum, mean: sum / n };
}

// ---- integer cross-check ------------------------------------------------------------------

const dv = new DataView(new ArrayBuffer(8));
/** v * 2^1074 as a BigInt (exact for every finite double). */
function scaledBig(v) {
  dv.setFloat64(0, v);
  const hi = dv.getUint32(0), lo = dv.getUint32(4);
  const sign = hi >>> 31, bexp = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let shift;
  if (bexp === 0) shift = 0n;                                     // subnormal: mant * 2^-1074
  else { mant |= 1n << 52n; shift = BigInt(bexp - 1); }          // mant * 2^(bexp-1075) * 2^1074
  const m = mant << shift;
  return sign ? -m : m;
}

/** sum((x - y)^2) in BigInt integer arithmetic, returned as a double (<= 1 ulp). Slow: small n only. */
export function bigIntSumSq(x, y) {
  let s = 0n;
  for (let i = 0; i < x.length; i++) { const d = scaledBig(x[i]) - scaledBig(y[i]); s += d * d; }
  // s is sum * 2^2148; keep 64 leading bits, then scale down in steps that cannot overflow.
  const bits = s === 0n ? 0 : s.toString(2).length;
  const shift = Math.max(0, bits - 64);
  let v = Number(s >> BigInt(shift));
  let e = shift - 2148;
  while (e < -1000) { v *= 2 ** -1000; e += 1000; }
  return v * 2 ** e;
}
