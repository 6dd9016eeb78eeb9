// A slow, obvious float64 reference for the semantics of API.md: broadcasting,
// reductions, legacy flags, axis/keepdims, weights and gradients (with the sum back
// over broadcast dimensions and gradOutput). Written from API.md and PyTorch's
// documented behaviour only, independently of ts/: plain loops over index
// arithmetic, no typed-array tricks, no kernels.
//
// Every output element also carries `mag`, the sum of the magnitudes of the terms
// that produced it, so the tests can bound rounding error where terms of mixed sign
// cancel (gradients summed over broadcast dimensions).

export type DType = "float32" | "float64";
export type Reduction = "mean" | "sum" | "none";

/** A reference operand: logical values (already rounded to float32 for float32), shape, dtype. */
export interface RefArray {
  values: number[];
  shape: number[];
  dtype: DType;
}

export interface RefOptions {
  reduction?: string;
  sizeAverage?: boolean;
  reduce?: boolean;
  broadcast?: boolean;
  axis?: number | number[];
  keepdims?: boolean;
}

/** One output value with the magnitude of what was summed into it. */
export interface RefValue {
  value: number;
  mag: number;
}

export type RefLoss =
  | { kind: "number"; value: number; mag: number; dtype: DType }
  | { kind: "tensor"; values: RefValue[]; shape: number[]; dtype: DType };

export interface RefGrad {
  values: RefValue[];
  shape: number[];
  dtype: DType;
}

/** Thrown by the reference where the library must throw a ShapeError. */
export class RefShapeError extends Error {}
/** Thrown by the reference where the library must throw a RangeError (bad axis, axis with "none"). */
export class RefRangeError extends Error {}

// ---------------------------------------------------------------------------
// Index arithmetic

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major coordinates of flat index `flat` in `shape`. */
export function unravel(flat: number, shape: readonly number[]): number[] {
  const coords = new Array<number>(shape.length).fill(0);
  let rest = flat;
  for (let d = shape.length - 1; d >= 0; d--) {
    const size = shape[d]!;
    coords[d] = rest % size;
    rest = Math.floor(rest / size);
  }
  return coords;
}

/** Row-major flat index of `coords` in `shape`. */
export function ravel(coords: readonly number[], shape: readonly number[]): number {
  let flat = 0;
  for (let d = 0; d < shape.length; d++) flat = flat * shape[d]! + coords[d]!;
  return flat;
}

/**
 * The flat index in an operand of shape `from` that broadcasting reads for the
 * coordinates `coords` of the (larger) shape `to`: dims align at the right, and a
 * size-1 dim of the operand is read at index 0.
 */
export function sourceIndex(coords: readonly number[], to: readonly number[], from: readonly number[]): number {
  const offset = to.length - from.length;
  let flat = 0;
  for (let d = 0; d < from.length; d++) {
    const c = from[d] === 1 ? 0 : coords[d + offset]!;
    flat = flat * from[d]! + c;
  }
  return flat;
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * PyTorch's infer_size: walk the dims from the right; the first pair of sizes that
 * differ with neither being 1 is the error, reported at its dim of the result.
 * Returns the message or null when the shapes broadcast.
 */
export function broadcastMismatch(a: readonly number[], b: readonly number[]): string | null {
  const rank = Math.max(a.length, b.length);
  for (let i = rank - 1; i >= 0; i--) {
    const offset = rank - 1 - i;
    const da = a.length - 1 - offset;
    const db = b.length - 1 - offset;
    const sa = da >= 0 ? a[da]! : 1;
    const sb = db >= 0 ? b[db]! : 1;
    if (sa !== sb && sa !== 1 && sb !== 1) {
      return `The size of tensor a (${sa}) must match the size of tensor b (${sb}) at non-singleton dimension ${i}`;
    }
  }
  return null;
}

export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const message = broadcastMismatch(a, b);
  if (message !== null) throw new RefShapeError(message);
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = i - (rank - a.length);
    const db = i - (rank - b.length);
    const sa = da >= 0 ? a[da]! : 1;
    const sb = db >= 0 ? b[db]! : 1;
    out.push(sa === 1 ? sb : sa);
  }
  return out;
}

/** True when an operand of shape `from` broadcasts to exactly `to` (never expands it). */
export function broadcastsTo(from: readonly number[], to: readonly number[]): boolean {
  if (from.length > to.length) return false;
  const offset = to.length - from.length;
  return from.every((d, i) => d === 1 || d === to[i + offset]);
}

export function promote(...dtypes: DType[]): DType {
  return dtypes.every((d) => d === "float32") ? "float32" : "float64";
}

// ---------------------------------------------------------------------------
// Options

/** PyTorch's `_Reduction.legacy_get_string` mapping, and the `elementwise_mean` alias. */
export function effectiveReduction(options: RefOptions): Reduction {
  if (options.sizeAverage !== undefined || options.reduce !== undefined) {
    const sizeAverage = options.sizeAverage ?? true;
    const reduce = options.reduce ?? true;
    if (sizeAverage && reduce) return "mean";
    if (reduce) return "sum";
    return "none";
  }
  const r = options.reduction ?? "mean";
  if (r === "elementwise_mean") return "mean";
  if (r === "mean" || r === "sum" || r === "none") return r;
  throw new RefRangeError(`"${r}" is not a valid value for reduction`);
}

/** Normalised, sorted reduced axes, or null when `axis` is absent. */
export function normaliseAxes(axis: number | number[] | undefined, rank: number): number[] | null {
  if (axis === undefined) return null;
  const list = typeof axis === "number" ? [axis] : axis;
  const seen = new Set<number>();
  for (const a of list) {
    if (!Number.isInteger(a) || a < -rank || a >= rank) throw new RefRangeError(`axis ${a} out of range for rank ${rank}`);
    const n = a < 0 ? a + rank : a;
    if (seen.has(n)) throw new RefRangeError(`duplicate axis ${a}`);
    seen.add(n);
  }
  return [...seen].sort((x, y) => x - y);
}

// ---------------------------------------------------------------------------
// Sums: Neumaier's compensated sum, so the reference is far more accurate than the
// bounds it checks (a few float64 ulps relative for non-negative terms).

class Sum {
  private s = 0;
  private c = 0;
  private plain = 0;
  mag = 0;
  add(x: number): void {
    this.plain += x;
    this.mag += Math.abs(x);
    const t = this.s + x;
    if (Math.abs(this.s) >= Math.abs(x)) this.c += this.s - t + x;
    else this.c += x - t + this.s;
    this.s = t;
  }
  get value(): number {
    // Non-finite sums: the compensation is meaningless (Inf - Inf), IEEE gives the plain sum.
    return Number.isFinite(this.plain) ? this.s + this.c : this.plain;
  }
}

// ---------------------------------------------------------------------------
// The plan shared by the forward and the backward reference

interface Plan {
  shape: number[]; // broadcast shape of input and target
  reduction: Reduction;
  /** reduced axes of `shape` (sorted), or null for "none" */
  reduced: number[] | null;
  keepdims: boolean;
  /** every axis reduced without keepdims: a JS number */
  scalarResult: boolean;
  /** result shape (the loss shape) */
  resultShape: number[];
  /** result shape with reduced dims kept as 1 (same flat order as resultShape) */
  keptShape: number[];
  dtype: DType;
}

function plan(input: RefArray, target: RefArray, weight: RefArray | undefined, options: RefOptions): Plan {
  const reduction = effectiveReduction(options);
  if (options.broadcast === false && !sameShape(input.shape, target.shape)) {
    // The library words this one itself; the test only checks the class.
    throw new RefShapeError(broadcastMismatch(input.shape, target.shape) ?? "broadcast: false demands equal shapes");
  }
  const shape = broadcastShapes(input.shape, target.shape);
  if (weight !== undefined && !broadcastsTo(weight.shape, shape)) {
    throw new RefShapeError(`weight ${formatShape(weight.shape)} does not broadcast to ${formatShape(shape)}`);
  }
  const dtype = promote(input.dtype, target.dtype, ...(weight ? [weight.dtype] : []));
  if (reduction === "none") {
    if (options.axis !== undefined) throw new RefRangeError('axis with reduction "none"');
    return { shape, reduction, reduced: null, keepdims: false, scalarResult: false, resultShape: shape, keptShape: shape, dtype };
  }
  const axes = normaliseAxes(options.axis, shape.length);
  const keepdims = options.keepdims === true;
  const reduced = axes ?? shape.map((_, i) => i);
  const keptShape = shape.map((d, i) => (reduced.includes(i) ? 1 : d));
  const resultShape = keepdims ? keptShape : shape.filter((_, i) => !reduced.includes(i));
  const scalarResult = !keepdims && axes === null;
  // An explicit axis list covering every axis without keepdims also gives a number.
  const allReduced = !keepdims && axes !== null && reduced.length === shape.length;
  return { shape, reduction, reduced, keepdims, scalarResult: scalarResult || allReduced, resultShape, keptShape, dtype };
}

function valueAt(a: RefArray, coords: number[], shape: number[]): number {
  return a.values[sourceIndex(coords, shape, a.shape)]!;
}

/** Index into the result (flat over `resultShape`) of the broadcast element at `coords`. */
function resultIndex(p: Plan, coords: number[]): number {
  return sourceIndex(coords, p.shape, p.keptShape);
}

// ---------------------------------------------------------------------------
// Forward

export function refLoss(input: RefArray, target: RefArray, options: RefOptions = {}, weight?: RefArray): RefLoss {
  const p = plan(input, target, weight, options);
  const n = numel(p.shape);
  if (p.reduction === "none") {
    const values: RefValue[] = [];
    for (let i = 0; i < n; i++) {
      const c = unravel(i, p.shape);
      const d = valueAt(input, c, p.shape) - valueAt(target, c, p.shape);
      const w = weight ? valueAt(weight, c, p.shape) : 1;
      const v = d * d * w;
      values.push({ value: v, mag: Math.abs(v) });
    }
    return { kind: "tensor", values, shape: p.shape, dtype: p.dtype };
  }
  const outCount = numel(p.keptShape);
  const loss = Array.from({ length: outCount }, () => new Sum());
  const weights = Array.from({ length: outCount }, () => new Sum());
  for (let i = 0; i < n; i++) {
    const c = unravel(i, p.shape);
    const d = valueAt(input, c, p.shape) - valueAt(target, c, p.shape);
    const w = weight ? valueAt(weight, c, p.shape) : 1;
    const j = resultIndex(p, c);
    loss[j]!.add(d * d * w);
    weights[j]!.add(w);
  }
  const values: RefValue[] = [];
  for (let j = 0; j < outCount; j++) {
    const s = loss[j]!;
    if (p.reduction === "sum") {
      values.push({ value: s.value, mag: s.mag });
    } else {
      // mean: divide by the count of reduced elements, or by the weight sum (PyTorch's weighted mean)
      const den = weight ? weights[j]!.value : numel(p.reduced!.map((a) => p.shape[a]!));
      values.push({ value: s.value / den, mag: s.mag / Math.abs(den) });
    }
  }
  if (p.scalarResult) return { kind: "number", value: values[0]!.value, mag: values[0]!.mag, dtype: p.dtype };
  return { kind: "tensor", values, shape: p.resultShape, dtype: p.dtype };
}

// ---------------------------------------------------------------------------
// Backward: d loss / d input, with gradOutput, summed back to input's shape

export function refGrad(
  input: RefArray,
  target: RefArray,
  options: RefOptions = {},
  weight?: RefArray,
  gradOutput?: number | RefArray,
): RefGrad {
  const p = plan(input, target, weight, options);
  const n = numel(p.shape);
  if (typeof gradOutput === "object" && !broadcastsTo(gradOutput.shape, p.resultShape)) {
    throw new RefShapeError(`gradOutput ${formatShape(gradOutput.shape)} does not broadcast to ${formatShape(p.resultShape)}`);
  }
  const gradAt = (j: number): number => {
    if (gradOutput === undefined) return 1;
    if (typeof gradOutput === "number") return gradOutput;
    return gradOutput.values[sourceIndex(unravel(j, p.resultShape), p.resultShape, gradOutput.shape)]!;
  };
  // denominators of the mean per result element
  const outCount = numel(p.keptShape);
  const den = new Array<number>(outCount).fill(1);
  if (p.reduction === "mean") {
    if (weight) {
      const ws = Array.from({ length: outCount }, () => new Sum());
      for (let i = 0; i < n; i++) {
        const c = unravel(i, p.shape);
        ws[resultIndex(p, c)]!.add(valueAt(weight, c, p.shape));
      }
      for (let j = 0; j < outCount; j++) den[j] = ws[j]!.value;
    } else {
      den.fill(numel(p.reduced!.map((a) => p.shape[a]!)));
    }
  }
  const grads = Array.from({ length: numel(input.shape) }, () => new Sum());
  for (let i = 0; i < n; i++) {
    const c = unravel(i, p.shape);
    const d = valueAt(input, c, p.shape) - valueAt(target, c, p.shape);
    const w = weight ? valueAt(weight, c, p.shape) : 1;
    const j = p.reduction === "none" ? i : resultIndex(p, c);
    const term = (2 * d * w * gradAt(j)) / den[j]!;
    grads[sourceIndex(c, p.shape, input.shape)]!.add(term);
  }
  return { values: grads.map((s) => ({ value: s.value, mag: s.mag })), shape: input.shape.slice(), dtype: input.dtype };
}

// ---------------------------------------------------------------------------
// Streaming metric: the mean (or its root) of (p - t)^2 over every broadcast element seen

export function refMetric(updates: Array<[RefArray, RefArray]>, squared: boolean): RefValue {
  const s = new Sum();
  let count = 0;
  for (const [pred, target] of updates) {
    const shape = broadcastShapes(pred.shape, target.shape);
    const n = numel(shape);
    for (let i = 0; i < n; i++) {
      const c = unravel(i, shape);
      const d = valueAt(pred, c, shape) - valueAt(target, c, shape);
      s.add(d * d);
    }
    count += n;
  }
  const mean = s.value / count;
  return squared ? { value: mean, mag: s.mag / count } : { value: Math.sqrt(mean), mag: Math.sqrt(s.mag / count) };
}

// ---------------------------------------------------------------------------
// Tolerances (API.md "Accuracy" and the float32 rounding of elementwise results)

export const U32 = 2 ** -24;
export const U64 = 2 ** -53;

/**
 * Is `got` within the error bound of `want`?  `rel` is applied to the magnitude of
 * what was summed (which is |want| itself for sums of non-negative terms), plus one
 * final rounding to the output dtype. NaN must meet NaN; infinities must match exactly.
 */
export function close(got: number, want: RefValue, rel: number, outDtype: DType): boolean {
  if (Number.isNaN(want.value)) return Number.isNaN(got);
  if (!Number.isFinite(want.value)) return got === want.value;
  if (!Number.isFinite(got)) return false;
  const u = outDtype === "float32" ? U32 : U64;
  const tiny = outDtype === "float32" ? 2 ** -140 : 2 ** -1060;
  return Math.abs(got - want.value) <= rel * want.mag + u * Math.abs(want.value) + tiny;
}
