// Decoding of the fixtures written by scripts/gen_fixtures.py (real PyTorch, NumPy and
// scikit-learn results) and the comparisons the correctness suites make against them.
import { expect } from "vitest";

export type DType = "float32" | "float64";
/** A JSON number, or a non-finite value spelled as a string. */
export type FxNum = number | string;

export interface FxTensor {
  dtype: DType;
  shape: number[];
  data: FxNum[];
}

export interface FxScalar {
  dtype: DType;
  /** torch's (or NumPy's) value in the result dtype. */
  value: FxNum;
  /** the same quantity computed in float64 from the same input values. */
  value64: FxNum;
}

export interface Decoded {
  data: Float32Array | Float64Array;
  shape: number[];
}

/** What every function of the library returns for a tensor. */
export interface OutTensor {
  data: Float32Array | Float64Array;
  shape: number[];
}

export function num(v: FxNum): number {
  if (typeof v === "number") return v;
  if (v === "NaN") return Number.NaN;
  if (v === "Infinity") return Number.POSITIVE_INFINITY;
  if (v === "-Infinity") return Number.NEGATIVE_INFINITY;
  throw new Error(`fixture: bad number ${JSON.stringify(v)}`);
}

/** A fixture tensor as the `{ data, shape }` tensor-like argument (fresh arrays). */
export function tensor(t: FxTensor): Decoded {
  const values = t.data.map(num);
  const data = t.dtype === "float32" ? Float32Array.from(values) : Float64Array.from(values);
  if (t.dtype === "float32") {
    // the fixture writes float32 values exactly; a mismatch means a broken fixture
    for (let i = 0; i < values.length; i++) {
      if (!Object.is(data[i], values[i]) && !Number.isNaN(values[i])) {
        throw new Error(`fixture: ${values[i]} is not a float32 value`);
      }
    }
  }
  return { data, shape: [...t.shape] };
}

export function dtypeOf(a: Float32Array | Float64Array): DType {
  return a instanceof Float32Array ? "float32" : "float64";
}

/** The array class of a dtype, for `toBeInstanceOf`. */
export function arrayClass(dtype: DType): Float32ArrayConstructor | Float64ArrayConstructor {
  return dtype === "float32" ? Float32Array : Float64Array;
}

/** Nests flat row-major data into `number[][]...` of the given shape (rank >= 1). */
export function nest(data: ArrayLike<number>, shape: readonly number[]): unknown {
  if (shape.length === 0) throw new Error("nest: rank 0 has no nested form");
  const build = (offset: number, dim: number): unknown[] => {
    const size = shape[dim];
    const out: unknown[] = [];
    if (dim === shape.length - 1) {
      for (let i = 0; i < size; i++) out.push(data[offset + i]);
      return out;
    }
    const stride = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
    for (let i = 0; i < size; i++) out.push(build(offset + i * stride, dim + 1));
    return out;
  };
  return build(0, 0);
}

// ------------------------------------------------------------------ result checks

/** Narrows a loss result to a number, failing the test otherwise. */
export function asNumber(v: unknown, what: string): number {
  expect(typeof v, `${what}: expected a number, got ${describeOut(v)}`).toBe("number");
  return v as number;
}

/** Narrows a loss result to a tensor, failing the test otherwise. */
export function asTensor(v: unknown, what: string): OutTensor {
  expect(typeof v === "object" && v !== null, `${what}: expected a Tensor, got ${describeOut(v)}`).toBe(true);
  const t = v as OutTensor;
  expect(t.data instanceof Float32Array || t.data instanceof Float64Array, `${what}: data is ${describeOut(t.data)}`).toBe(true);
  expect(Array.isArray(t.shape), `${what}: shape is not an array`).toBe(true);
  return t;
}

function describeOut(v: unknown): string {
  if (v === null) return "null";
  if (typeof v !== "object") return `${typeof v} ${String(v)}`;
  return (v as object).constructor?.name ?? "object";
}

const f32buf = new Float32Array(1);
const i32buf = new Int32Array(f32buf.buffer);
const f64buf = new Float64Array(1);
const i64buf = new BigInt64Array(f64buf.buffer);

/** Distance in units in the last place of `dtype` between two finite values. */
export function ulpDistance(a: number, b: number, dtype: DType): number {
  if (a === b) return 0;
  if (dtype === "float32") {
    const key = (x: number): number => {
      f32buf[0] = x;
      const i = i32buf[0];
      return i < 0 ? -(i & 0x7fffffff) : i;
    };
    return Math.abs(key(a) - key(b));
  }
  const key = (x: number): bigint => {
    f64buf[0] = x;
    const i = i64buf[0];
    return i < 0n ? -(i & 0x7fffffffffffffffn) : i;
  };
  const d = key(a) - key(b);
  return Number(d < 0n ? -d : d);
}

/** Same value: both NaN, or equal (+0 and -0 are equal), or within `maxUlps`. */
export function sameValue(got: number, want: number, dtype: DType, maxUlps: number): boolean {
  if (Number.isNaN(want)) return Number.isNaN(got);
  if (got === want) return true;
  if (!Number.isFinite(want) || !Number.isFinite(got)) return false;
  return ulpDistance(got, want, dtype) <= maxUlps;
}

/**
 * `got` has the fixture's dtype and shape and every element equals the fixture's
 * (within `maxUlps` units in the last place of the dtype).
 */
export function expectTensorMatches(got: OutTensor, want: FxTensor, maxUlps: number, what: string): void {
  expect(got.shape, `${what}: shape`).toEqual(want.shape);
  expect(dtypeOf(got.data), `${what}: dtype`).toBe(want.dtype);
  expect(got.data.length, `${what}: length`).toBe(want.data.length);
  const bad: string[] = [];
  for (let i = 0; i < want.data.length; i++) {
    const w = num(want.data[i]);
    if (!sameValue(got.data[i], w, want.dtype, maxUlps)) {
      bad.push(`[${i}] got ${got.data[i]} want ${w}`);
      if (bad.length >= 5) break;
    }
  }
  expect(bad, `${what}: elements beyond ${maxUlps} ulp`).toEqual([]);
}

/** |got - want| <= rtol * |want|, with NaN matching NaN and infinities matching exactly. */
export function closeTo(got: number, want: number, rtol: number): boolean {
  if (Number.isNaN(want)) return Number.isNaN(got);
  if (!Number.isFinite(want)) return got === want;
  return Math.abs(got - want) <= rtol * Math.abs(want);
}

export function expectClose(got: number, want: number, rtol: number, what: string): void {
  expect(closeTo(got, want, rtol), `${what}: got ${got}, want ${want} (rtol ${rtol}, rel err ${Math.abs(got - want) / Math.abs(want)})`).toBe(true);
}

/**
 * Elementwise |got - want64| <= rtol * scale64 (scale: the sum of the magnitudes of the
 * terms of each element, |want64| when nothing was summed).
 */
export function expectTensorNear(
  got: OutTensor,
  want: FxTensor,
  want64: FxTensor | undefined,
  scale64: FxTensor | undefined,
  rtol: number,
  what: string,
): void {
  expect(got.shape, `${what}: shape`).toEqual(want.shape);
  expect(dtypeOf(got.data), `${what}: dtype`).toBe(want.dtype);
  const ref = (want64 ?? want).data.map(num);
  const scale = scale64 ? scale64.data.map(num) : ref.map(Math.abs);
  expect(got.data.length, `${what}: length`).toBe(ref.length);
  const bad: string[] = [];
  for (let i = 0; i < ref.length; i++) {
    const g = got.data[i];
    const r = ref[i];
    let ok: boolean;
    if (Number.isNaN(r)) ok = Number.isNaN(g);
    else if (!Number.isFinite(r)) ok = g === r;
    else ok = Math.abs(g - r) <= rtol * scale[i];
    if (!ok) {
      bad.push(`[${i}] got ${g} want ${r} (scale ${scale[i]})`);
      if (bad.length >= 5) break;
    }
  }
  expect(bad, `${what}: elements beyond rtol ${rtol}`).toEqual([]);
}

/** Relative accuracy the API promises for sums and means of each dtype. */
export function rtolFor(dtype: DType): number {
  return dtype === "float32" ? 1e-6 : 1e-13;
}

/** Byte-equal typed arrays of the same class (bit-identical results). */
export function bytesEqual(a: Float32Array | Float64Array, b: Float32Array | Float64Array): boolean {
  if (a.constructor !== b.constructor || a.length !== b.length) return false;
  // 4-byte words: float32/float64 data is always a multiple of 4 bytes
  const x = new Int32Array(a.buffer, a.byteOffset, a.byteLength >> 2);
  const y = new Int32Array(b.buffer, b.byteOffset, b.byteLength >> 2);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** Bit-identical loss results: Object.is on numbers, byte-equal data and equal shapes on tensors. */
export function identical(a: unknown, b: unknown): boolean {
  if (typeof a === "number" || typeof b === "number") return Object.is(a, b);
  const ta = a as OutTensor;
  const tb = b as OutTensor;
  return (
    ta.shape.length === tb.shape.length &&
    ta.shape.every((d, i) => d === tb.shape[i]) &&
    bytesEqual(ta.data, tb.data)
  );
}

// ------------------------------------------------------------------ fixture files

export type Reduction = "mean" | "sum" | "none";

export interface ForwardCase {
  name: string;
  input: FxTensor;
  target: FxTensor;
  results: { mean: FxScalar; sum: FxScalar; none: FxTensor };
  /** what torch warned (the size-mismatch UserWarning) */
  warnings: string[];
  tags?: string[];
}

export interface LegacyCase {
  options: { sizeAverage?: boolean; reduce?: boolean; reduction?: string };
  chosen: Reduction;
  warnings: string[];
}

export interface ForwardFixture {
  torch: string;
  legacy: LegacyCase[];
  alias: LegacyCase[];
  errors: Array<{ inputShape: number[]; targetShape: number[]; type: string; message: string; warnings: string[] }>;
  invalidReduction: Array<{ reduction: string; type: string; message: string }>;
  cases: ForwardCase[];
}

export interface GradEntry {
  reduction: Reduction;
  /** absent: the default 1 */
  gradOutput?: number | FxTensor;
  /** torch's input.grad in input's dtype */
  grad: FxTensor;
  /** float64 reference (absent for float64 operands: then `grad` is it) */
  grad64?: FxTensor;
  /** per element, the sum of |terms| (absent: |grad64|) */
  scale64?: FxTensor;
  /** bit-exact (<= 1 ulp) agreement with torch is expected */
  exact: boolean;
  computedIn?: string;
  loss?: FxScalar | FxTensor;
  loss64?: FxTensor;
  /** weighted mean/sum: sum|w*l| (over |sum w| for the mean), the yardstick for signed weights */
  lossScale64?: FxNum;
}

export interface BackwardFixture {
  cases: Array<{ name: string; input: FxTensor; target: FxTensor; expanded: boolean; grads: GradEntry[] }>;
}

export interface WeightsFixture {
  cases: Array<{ name: string; input: FxTensor; target: FxTensor; weight: FxTensor; expanded: boolean; grads: GradEntry[] }>;
  axisCases: Array<{
    name: string;
    input: FxTensor;
    target: FxTensor;
    weight: FxTensor;
    axis: number | number[];
    keepdims: boolean;
    reduction: "mean" | "sum";
    result: FxTensor;
    result64: FxTensor;
    gradOutput: FxTensor;
    grad: FxTensor;
    grad64?: FxTensor;
    scale64?: FxTensor;
  }>;
}

export interface AxisCase {
  name: string;
  input: FxTensor;
  target: FxTensor;
  axis: number | number[] | null;
  keepdims: boolean;
  reduction: "mean" | "sum";
  /** a number result (every axis reduced without keepdims) or a tensor */
  result: FxScalar | FxTensor;
  result64?: FxTensor;
  gradOutput?: FxTensor;
  grad: FxTensor;
  grad64?: FxTensor;
  scale64?: FxTensor;
}

export interface AxisFixture {
  cases: AxisCase[];
}

export interface MetricFixture {
  datasets: Array<{
    name: string;
    batches: Array<{ pred: FxTensor; target: FxTensor }>;
    mse: FxNum;
    rmse: FxNum;
    mse64: FxNum;
    rmse64: FxNum;
  }>;
}

export function isFxTensor(v: unknown): v is FxTensor {
  return typeof v === "object" && v !== null && Array.isArray((v as FxTensor).data) && Array.isArray((v as FxTensor).shape);
}

/** A gradOutput from the fixture as the library takes it. */
export function gradOutputArg(g: number | FxTensor | undefined): number | Decoded | undefined {
  if (g === undefined || typeof g === "number") return g;
  return tensor(g);
}

/** A fixture gradient entry's reduction and gradOutput as backward options (gradOutput only when given). */
export function gradOptionsOf(e: GradEntry): { reduction: Reduction; gradOutput?: number | Decoded } {
  const g = gradOutputArg(e.gradOutput);
  return g === undefined ? { reduction: e.reduction } : { reduction: e.reduction, gradOutput: g };
}

/**
 * A gradient against torch's: bit-exact where torch computes with our formula (`exact`),
 * else within the float64 reference's bound.
 */
export function expectGradAgainstTorch(
  got: OutTensor,
  e: { grad: FxTensor; grad64?: FxTensor; scale64?: FxTensor; exact?: boolean },
  what: string,
): void {
  if (e.exact === true) {
    expectTensorMatches(got, e.grad, 0, what);
  } else {
    expectTensorNear(got, e.grad, e.grad64, e.scale64, rtolFor(e.grad.dtype), what);
  }
}
