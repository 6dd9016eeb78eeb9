// mseLoss: options -> coercion -> shape plan -> kernels -> a number or a JS-owned Tensor.
import { LOSS_OUT, coerce, coerceOut, describeArgument, type ArrayArgument, type Operand, type OutTarget } from "./coerce.js";
import { sameKindLength } from "./intrinsics.js";
import { ShapeError, formatShape, torchSize } from "./errors.js";
import {
  activeHeap,
  requireHeap,
  CHUNK_BYTES,
  NONE as C_NONE,
  SUM as C_SUM,
  NONE_STRIDED,
  REDUCE_STRIDED,
  type DType,
  type FloatArray,
  type Heap,
  type Source,
  type StridedFinish,
} from "./heap.js";
import { LOSS_OPTIONS, MEAN, NONE, SUM, parseOptions, type MseLossCallOptions, type MseLossOptions, type ParsedOptions } from "./options.js";
import {
  planScratch,
  broadcastShapes,
  buildPlan,
  checkBroadcastsTo,
  normaliseAxes,
  numel,
  sameShape,
  stridesOver,
} from "./shape.js";
import { SMALL_MAX, smallScratch, smallSquares, smallSum32, smallSum64 } from "./small.js";
import { WasmTensor, tensorDims, tensorPair, tensorPairSum } from "./tensor.js";
import { warnOnce } from "./warn.js";

/** A tensor owned by JS: row-major `data` of `shape` (never a view into wasm memory). */
export interface Tensor {
  data: Float32Array | Float64Array;
  shape: number[];
}

/** The operands of one call after coercion and shape checks. */
export interface Prepared {
  readonly fn: string;
  readonly heap: Heap;
  readonly input: Operand;
  readonly target: Operand;
  readonly weight: Operand | null;
  /** `gradOutput` as an array argument (null when absent or a bare number). */
  readonly grad: Operand | null;
  /** `gradOutput` when it is a bare number (1 when absent). */
  readonly gradScalar: number;
  /** The math dtype: float64 when any operand is float64. */
  readonly dtype: DType;
  /** The loss shape: `input` and `target` broadcast. */
  readonly shape: readonly number[];
  readonly numel: number;
  /** Every operand holds the whole loss shape in row-major order: contiguous kernels apply. */
  readonly contiguous: boolean;
}

export function makeArray(dtype: DType, length: number): FloatArray {
  return dtype === "float32" ? new Float32Array(length) : new Float64Array(length);
}

function sizeWarning(input: readonly number[], target: readonly number[]): string {
  return (
    `Using a target size (${torchSize(target)}) that is different to the input size (${torchSize(input)}). ` +
    "This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size."
  );
}

/**
 * Coerces the operands of `fn` and checks their shapes in PyTorch's order: the size
 * warning first, then broadcasting errors, then `weight` against the loss shape.
 */
export function prepare(
  fn: string,
  heap: Heap,
  input: unknown,
  target: unknown,
  o: ParsedOptions,
  gradOutput: unknown = undefined,
  inputName = "input",
): Prepared {
  const a = coerce(heap, fn, inputName, input);
  const b = coerce(heap, fn, "target", target);
  let shape: readonly number[];
  if (sameShape(a.shape, b.shape)) {
    shape = a.shape;
  } else {
    if (o.broadcast !== true) warnOnce(sizeWarning(a.shape, b.shape));
    if (o.broadcast === false) {
      throw new ShapeError(
        `${fn}: option 'broadcast' is false but ${inputName} has shape ${formatShape(a.shape)} ` +
          `and target has shape ${formatShape(b.shape)}`,
      );
    }
    shape = broadcastShapes(fn, a.shape, b.shape);
  }
  const n = shape === a.shape ? a.size : numel(shape);
  let w: Operand | null = null;
  if (o.weight !== undefined) {
    w = coerce(heap, fn, "weight", o.weight);
    checkBroadcastsTo(fn, "weight", w.shape, shape);
  }
  let g: Operand | null = null;
  let gradScalar = 1;
  if (typeof gradOutput === "number") {
    gradScalar = gradOutput;
  } else if (gradOutput !== undefined) {
    g = coerce(heap, fn, "gradOutput", gradOutput);
  }
  const f64 =
    a.dtype === "float64" ||
    b.dtype === "float64" ||
    (w !== null && w.dtype === "float64") ||
    (g !== null && g.dtype === "float64");
  return {
    fn,
    heap,
    input: a,
    target: b,
    weight: w,
    grad: g,
    gradScalar,
    dtype: f64 ? "float64" : "float32",
    shape,
    numel: n,
    // An operand with the loss shape's element count was not expanded, so its
    // row-major layout is the loss shape's.
    contiguous: a.size === n && b.size === n && (w === null || w.size === n),
  };
}

/**
 * Where a result (a gradient or loss elements) of `dtype` and `size` elements is written: the caller's `out`, unless
 * it shares memory with an operand (which writing it would change while it is read),
 * else a new array (that `deliver` then copies into `out`). Allocates no wasm memory.
 */
export function resultDest(
  heap: Heap,
  out: OutTarget | null,
  dtype: DType,
  size: number,
  a: Source,
  b: Source,
  w: Source | null = null,
  g: Source | null = null,
): Source {
  return out !== null && !heap.overlaps(out.dest(), a, b, w, g) ? out.dest() : makeArray(dtype, size);
}

/** The result's `data`: `dest` itself, or the caller's `out` (copying `dest` into it if it is a temporary). */
export function deliver(heap: Heap, out: OutTarget | null, dest: Source): FloatArray {
  if (out === null) return dest as FloatArray;
  if (dest !== out.dest()) heap.copyOut(out.dest(), 0, dest as FloatArray);
  return out.data();
}

/** Which dims a reduction covers and the result's shape. */
export interface Reduced {
  /** Every dim is reduced (no `axis`, or `axis` names them all). */
  readonly full: boolean;
  /** The result is a JS number (full and no `keepdims`). */
  readonly asNumber: boolean;
  readonly mask: readonly boolean[];
  /** The result shape (`keepdims` applied). */
  readonly outShape: number[];
  /** The loss shape with reduced dims as 1. */
  readonly keepShape: number[];
  /** The loss shape without the reduced dims. */
  readonly dropShape: number[];
  readonly outCount: number;
  /** Product of the reduced sizes (the divisor of an unweighted mean). */
  readonly reducedCount: number;
}

export function reducedOf(fn: string, shape: readonly number[], o: ParsedOptions): Reduced {
  const rank = shape.length;
  const mask = o.axis === null ? new Array<boolean>(rank).fill(true) : normaliseAxes(fn, o.axis, shape);
  const keepShape: number[] = [];
  const dropShape: number[] = [];
  let reducedCount = 1;
  let all = true;
  for (let d = 0; d < rank; d++) {
    const size = shape[d] as number;
    if (mask[d] === true) {
      keepShape.push(1);
      reducedCount *= size;
    } else {
      keepShape.push(size);
      dropShape.push(size);
      all = false;
    }
  }
  const full = o.axis === null || (o.axis.length > 0 && all);
  const outShape = o.keepdims ? keepShape : dropShape;
  return {
    full,
    asNumber: full && !o.keepdims,
    mask,
    outShape,
    keepShape,
    dropShape,
    outCount: numel(dropShape),
    reducedCount,
  };
}

/** Per-operand strides over the loss shape, in plan order a, b, w, g. */
export function operandStrides(p: Prepared, g: { shape: readonly number[] } | null): (number[] | null)[] {
  return [
    stridesOver(p.input.shape, p.shape),
    stridesOver(p.target.shape, p.shape),
    p.weight === null ? null : stridesOver(p.weight.shape, p.shape),
    g === null ? null : stridesOver(g.shape, p.shape),
  ];
}

/** Reads element `index` of an operand (from JS or wasm memory). */
export function elementAt(heap: Heap, source: Source, index: number): number {
  if (source instanceof Float32Array || source instanceof Float64Array) return source[index] as number;
  const shift = source.dtype === "float32" ? 2 : 3;
  return heap.view(source.dtype)[(source.ptr >>> shift) + index] as number;
}

/** An operand broadcast to `shape` (which it must broadcast to), as float64, in JS. */
export function expandTo(heap: Heap, op: Operand, shape: readonly number[]): Float64Array {
  const n = numel(shape);
  const out = new Float64Array(n);
  if (n === 0) return out;
  const strides = stridesOver(op.shape, shape);
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  let offset = 0;
  for (let i = 0; i < n; i++) {
    out[i] = elementAt(heap, op.source, offset);
    for (let d = rank - 1; d >= 0; d--) {
      const s = strides[d] as number;
      if ((index[d] as number) + 1 < (shape[d] as number)) {
        index[d] = (index[d] as number) + 1;
        offset += s;
        break;
      }
      offset -= s * (index[d] as number);
      index[d] = 0;
    }
  }
  return out;
}

/** The elementwise loss `w * (input - target)^2` over the loss shape, in the math dtype. */
export function lossElements(p: Prepared): FloatArray {
  const out = makeArray(p.dtype, p.numel);
  lossElementsInto(p, out);
  return out;
}

/** `lossElements` into `out`: a JS array, or wasm memory no operand shares. */
function lossElementsInto(p: Prepared, out: Source): void {
  if (p.numel === 0) return;
  const w = p.weight === null ? null : p.weight.source;
  if (p.contiguous) {
    p.heap.contiguous(C_NONE, p.dtype, p.numel, p.input.source, p.target.source, w, null, 1, 1, null, out);
    return;
  }
  const plan = planScratch;
  buildPlan(plan, p.shape, null, operandStrides(p, null));
  p.heap.strided({
    fn: p.fn,
    kind: NONE_STRIDED,
    dtype: p.dtype,
    plan,
    a: p.input.source,
    b: p.target.source,
    w,
    g: null,
    gScalar: 1,
    norm: 1,
    outCount: p.numel,
    out,
    outLoss: null,
    outWeight: null,
    finish: null,
  });
}

/** Sums over the whole loss shape, in float64: `[Σ w·l, Σ w]` (Σ w is 0 without weight). */
export function reduceAll(p: Prepared, sums: Float64Array): void {
  sums[0] = 0;
  sums[1] = 0;
  if (p.numel === 0) return;
  if (p.contiguous) {
    const w = p.weight === null ? null : p.weight.source;
    p.heap.contiguous(C_SUM, p.dtype, p.numel, p.input.source, p.target.source, w, null, 1, 1, null, null);
    sums[0] = p.heap.stateLoss();
    sums[1] = p.heap.stateWeight();
    return;
  }
  const mask = new Array<boolean>(p.shape.length).fill(true);
  const loss = new Float64Array(1);
  const weight = p.weight === null ? null : new Float64Array(1);
  reduceStrided(p, mask, 1, loss, weight);
  sums[0] = loss[0] as number;
  sums[1] = weight === null ? 0 : (weight[0] as number);
}

function reduceStrided(
  p: Prepared,
  mask: readonly boolean[],
  outCount: number,
  loss: Float64Array | null,
  weight: Float64Array | null,
  finish: StridedFinish | null = null,
): number {
  const plan = planScratch;
  const reducedDims = buildPlan(plan, p.shape, mask, operandStrides(p, null));
  if (reducedDims === 0) return 0;
  p.heap.strided({
    fn: p.fn,
    kind: REDUCE_STRIDED,
    dtype: p.dtype,
    plan,
    a: p.input.source,
    b: p.target.source,
    w: p.weight === null ? null : p.weight.source,
    g: null,
    gScalar: 1,
    norm: 1,
    outCount,
    out: null,
    outLoss: loss,
    outWeight: weight,
    finish,
  });
  return reducedDims;
}

/**
 * Per-output sums of a partial (`axis`) reduction, in float64: the loss sums, and the
 * weight sums when `withWeight` (and a weight was given).
 */
export function axisSums(p: Prepared, red: Reduced, withWeight: boolean): { loss: Float64Array; weight: Float64Array | null } {
  const loss = new Float64Array(red.outCount);
  const weight = withWeight && p.weight !== null ? new Float64Array(red.outCount) : null;
  if (red.outCount === 0 || p.numel === 0) return { loss, weight };
  if (reduceStrided(p, red.mask, red.outCount, loss, weight) === 0) {
    // Only size-1 dims are reduced: each output is one element, w * l, and its weight.
    loss.set(lossElements(p));
    if (weight !== null && p.weight !== null) weight.set(expandTo(p.heap, p.weight, p.shape));
  }
  return { loss, weight };
}

/**
 * Filled by `forward` for a gradient that follows it: the reduction plan, and the weight
 * sums of a weighted mean (the weight sum of a full reduction, or per output with `axis`).
 */
export interface WeightSums {
  weightSum: number;
  axisWeights: Float64Array | null;
  reduced: Reduced | null;
}

const scratchSums = new Float64Array(2);

/** A full reduction's result: the number, or with `keepdims` a one-element tensor of `keepShape`. */
export function fullResult(dtype: DType, value: number, keepShape: number[] | null): number | Tensor {
  if (keepShape === null) return value;
  const data = makeArray(dtype, 1);
  data[0] = value;
  return { data, shape: keepShape };
}

/**
 * The loss of a prepared call (shared by mseLoss, MSELoss and mseLossWithGrad). A Tensor
 * result goes into `outValue` (mseLoss's `out`) when one is given; a number result
 * refuses it.
 */
export function forward(p: Prepared, o: ParsedOptions, sums: WeightSums | null = null, outValue: unknown = undefined): number | Tensor {
  const w = p.weight === null ? null : p.weight.source;
  if (o.reduction === NONE) {
    const out = outValue === undefined ? null : coerceOut(p.heap, p.fn, outValue, p.dtype, p.shape, LOSS_OUT);
    const dest = resultDest(p.heap, out, p.dtype, p.numel, p.input.source, p.target.source, w);
    lossElementsInto(p, dest);
    return { data: deliver(p.heap, out, dest), shape: p.shape.slice() };
  }
  const red = reducedOf(p.fn, p.shape, o);
  if (sums !== null) sums.reduced = red;
  if (outValue !== undefined && red.asNumber) throw numberOut(p.fn, outValue);
  const out = outValue === undefined ? null : coerceOut(p.heap, p.fn, outValue, p.dtype, red.outShape, LOSS_OUT);
  if (red.full) {
    reduceAll(p, scratchSums);
    const loss = scratchSums[0] as number;
    const weightSum = scratchSums[1] as number;
    if (sums !== null) sums.weightSum = weightSum;
    // float32 data: the float64 sum is returned as is (more accurate than rounding it).
    const value = o.reduction === SUM ? loss : loss / (p.weight === null ? p.numel : weightSum);
    if (out === null) return fullResult(p.dtype, value, red.asNumber ? null : red.outShape.slice());
    scratchSums[0] = value;
    out.writeElements(scratchSums, 1);
    return { data: out.data(), shape: red.outShape.slice() };
  }
  const weighted = o.reduction === MEAN && p.weight !== null;
  const count = red.outCount;
  const divisor = o.reduction === SUM ? 1 : red.reducedCount;
  if (count > 0 && red.reducedCount > 1) {
    // The reduce kernel divides and rounds each output to the dtype as it goes: no float64
    // sums in memory, no pass over them in wasm or in JS (a million outputs are common
    // here). The weight sums leave wasm memory only for a caller that needs them (the
    // gradient of a weighted mean).
    const dest = resultDest(p.heap, out, p.dtype, count, p.input.source, p.target.source, w);
    const weightOut = sums !== null && weighted ? new Float64Array(count) : null;
    if (sums !== null) sums.axisWeights = weightOut;
    reduceStrided(p, red.mask, count, null, weightOut, { data: dest, divisor, weighted });
    return { data: deliver(p.heap, out, dest), shape: red.outShape.slice() };
  }
  // No element, or only size-1 dims reduced (each output is one element): the sums come
  // from JS, into a JS array.
  const data = makeArray(p.dtype, count);
  const { loss, weight } = axisSums(p, red, weighted);
  if (sums !== null) sums.axisWeights = weight;
  // One loop per case, nothing re-read per element.
  if (o.reduction === SUM) {
    data.set(loss);
  } else if (weight !== null) {
    for (let j = 0; j < count; j++) data[j] = (loss[j] as number) / (weight[j] as number);
  } else {
    for (let j = 0; j < count; j++) data[j] = (loss[j] as number) / divisor;
  }
  return { data: deliver(p.heap, out, data), shape: red.outShape.slice() };
}

/** `out` given to a call whose result is a number. */
function numberOut(fn: string, value: unknown): TypeError {
  return new TypeError(
    `${fn}: argument 'out' is for a Tensor result (reduction "none", 'axis' or 'keepdims'); ` +
      `this call returns a number (got ${describeArgument(value)})`,
  );
}

/**
 * The element count of a typed-array pair the direct paths take (`fastLoss`,
 * `directPair`), else 0: two Float32Arrays or two Float64Arrays of one non-zero
 * length (`sameKindLength`). Up to one chunk the direct paths read them by index (the JS
 * replay) or copy them whole with `TypedArray#set` (internal slots only), so subclasses
 * qualify; longer pairs are copied chunk by chunk through `subarray`, which a subclass
 * can override, so only plain arrays do. Anything else goes through coercion.
 */
export function directLength(input: unknown, target: unknown): number {
  const n = sameKindLength(input, target);
  if (n * (input instanceof Float32Array ? 4 : 8) <= CHUNK_BYTES) return n;
  const proto = Object.getPrototypeOf(input);
  const plain = proto === Float32Array.prototype || proto === Float64Array.prototype;
  return plain && Object.getPrototypeOf(target) === proto ? n : 0;
}

/**
 * The element count of the last pair `fastLoss` took (read once there: a Proxy's
 * `length` could answer differently on a second read).
 */
export let fastCount = 0;

/**
 * The loss (`mean`: Σ(a−b)²/n, else Σ(a−b)²) on the direct path of mseLoss: a
 * `directLength` pair, two matching WasmTensors (read in place), or two flat `number[]`
 * of at most SMALL_MAX elements; undefined for anything else, which takes the full path.
 * Sets `fastCount` when it takes the pair.
 */
export function fastLoss(heap: Heap, input: unknown, target: unknown, mean: boolean): number | undefined {
  // ArrayBuffer.isView splits typed arrays from WasmTensors first, so that neither pays
  // for the other's instanceof (a prototype-chain walk: ~5 ns of a ~80 ns 16-element call).
  if (ArrayBuffer.isView(input)) {
    const n = directLength(input, target);
    if (n === 0) return undefined;
    const a = input as FloatArray;
    const b = target as FloatArray;
    let sum: number;
    if (n > SMALL_MAX) {
      sum = heap.sumSquaredDiff(a, b, n);
    } else {
      // Tiny arrays: the kernel replayed in JS (same bits) costs less than copying in.
      sum = a instanceof Float32Array ? smallSum32(a, 0, b, 0, n) : smallSum64(a, 0, b, 0, n);
    }
    fastCount = n;
    return mean ? sum / n : sum;
  }
  let n: number;
  let sum: number | undefined;
  if (input instanceof WasmTensor) {
    if (!(target instanceof WasmTensor)) return undefined;
    n = input.size;
    sum = tensorPairSum(heap, input, target);
  } else if (Array.isArray(input)) {
    n = input.length;
    sum = smallNumbersSum(input, target, n);
  } else {
    return undefined;
  }
  if (sum === undefined) return undefined;
  fastCount = n;
  return mean ? sum / n : sum;
}

/** The float64 copies of tiny `number[]` operands for the JS replay (see smallNumbersSum). */
const smallX = new Float64Array(SMALL_MAX);
const smallY = new Float64Array(SMALL_MAX);
/** Set while smallX/smallY are filled and read: a re-entrant call (an element getter) takes the general path. */
let smallBusy = false;

/** Copies `from[0 .. n)` into `to`; false at the first element that is not a number. */
function copyNumbers(from: readonly unknown[], to: Float64Array, n: number): boolean {
  for (let i = 0; i < n; i++) {
    const v = from[i];
    if (typeof v !== "number") return false;
    to[i] = v;
  }
  return true;
}

/**
 * Σ(a−b)² of two flat `number[]` of length `n` (`input.length`), 1..SMALL_MAX, in float64 (their dtype)
 * as the kernel computes it (the JS replay); undefined for anything else (nested or
 * non-number elements, other lengths), which the general path coerces or rejects. The
 * general path would first copy each into a new Float64Array: above 8 elements an
 * off-heap allocation, ~1 us each in V8.
 */
function smallNumbersSum(input: readonly unknown[], target: unknown, n: number): number | undefined {
  if (!Array.isArray(target) || smallBusy) return undefined;
  if (n === 0 || n > SMALL_MAX || target.length !== n) return undefined;
  smallBusy = true;
  try {
    if (!copyNumbers(input, smallX, n) || !copyNumbers(target as unknown[], smallY, n)) return undefined;
    return smallSum64(smallX, 0, smallY, 0, n);
  } finally {
    smallBusy = false;
  }
}

/**
 * A pair for the direct paths of the elementwise loss and the gradients: a
 * `directLength` pair of typed arrays, or two WasmTensors of one dtype and shape
 * (`tensorPair`). For at most SMALL_MAX elements it also says where the JS replay reads
 * them: `x[ia ..]` and `y[ib ..]` (for WasmTensors the memory view and element offsets).
 */
export interface DirectPair {
  readonly a: Source;
  readonly b: Source;
  readonly dtype: DType;
  readonly n: number;
  /** The operands' shape, a new array (results take it). */
  readonly shape: number[];
  readonly x: FloatArray;
  readonly y: FloatArray;
  readonly ia: number;
  readonly ib: number;
}

/** The `DirectPair` of `input` and `target`, or undefined (empty, or any other pair). */
export function directPair(heap: Heap, input: unknown, target: unknown): DirectPair | undefined {
  if (ArrayBuffer.isView(input)) {
    const n = directLength(input, target);
    if (n === 0) return undefined;
    const x = input as FloatArray;
    const y = target as FloatArray;
    return { a: x, b: y, dtype: x instanceof Float32Array ? "float32" : "float64", n, shape: [n], x, y, ia: 0, ib: 0 };
  }
  if (!(input instanceof WasmTensor) || !(target instanceof WasmTensor)) return undefined;
  const pair = tensorPair(heap, input, target);
  if (pair === undefined) return undefined;
  const [a, b] = pair;
  const shift = a.dtype === "float32" ? 2 : 3;
  const view = heap.view(a.dtype);
  return { a, b, dtype: a.dtype, n: a.size, shape: tensorDims(input).slice(), x: view, y: view, ia: a.ptr >>> shift, ib: b.ptr >>> shift };
}

/**
 * `reduction: "none"` on the direct path: the elementwise loss of a `DirectPair` (tiny
 * ones replayed in JS, the same bits), into `outValue` when given; undefined for
 * anything else.
 */
function fastNone(fn: string, heap: Heap, input: unknown, target: unknown, outValue: unknown): Tensor | undefined {
  const p = directPair(heap, input, target);
  if (p === undefined) return undefined;
  const out = outValue === undefined ? null : coerceOut(heap, fn, outValue, p.dtype, p.shape, LOSS_OUT);
  if (p.n <= SMALL_MAX) {
    // Into the caller's `out` through a scratch: every operand is read before `out` is
    // written, however their memory overlaps.
    if (out === null) {
      const data = makeArray(p.dtype, p.n);
      smallSquares(p.x, p.ia, p.y, p.ib, p.n, p.dtype === "float32", data);
      return { data, shape: p.shape };
    }
    smallSquares(p.x, p.ia, p.y, p.ib, p.n, p.dtype === "float32", smallScratch);
    out.writeElements(smallScratch, p.n);
    return { data: out.data(), shape: p.shape };
  }
  const dest = resultDest(heap, out, p.dtype, p.n, p.a, p.b);
  heap.contiguous(C_NONE, p.dtype, p.n, p.a, p.b, null, null, 1, 1, null, dest);
  return { data: deliver(heap, out, dest), shape: p.shape };
}


/** The loss with already-parsed options (MSELoss.forward, mseLoss). */
export function lossWithOptions(fn: string, input: unknown, target: unknown, o: ParsedOptions): number | Tensor {
  const heap = requireHeap(fn);
  if (o.axis === null && !o.keepdims && o.weight === undefined) {
    // (`out` with a number result goes on to the general path's error)
    const loss =
      o.reduction === NONE
        ? fastNone(fn, heap, input, target, o.out)
        : o.out === undefined
          ? fastLoss(heap, input, target, o.reduction !== SUM)
          : undefined;
    if (loss !== undefined) return loss;
  }
  return forward(prepare(fn, heap, input, target, o), o, null, o.out);
}

/**
 * The mean squared error, as PyTorch's `torch.nn.functional.mse_loss`.
 *
 * Shapes: input `(*)`; target `(*)`, broadcastable with input; weight (optional)
 * broadcastable to the loss shape. Output: a number for `"mean"`/`"sum"` (float32 data
 * gives the float64 sum, not rounded); for `"none"` a Tensor of the broadcast shape;
 * with `axis` a Tensor of the remaining axes (a number when every axis is reduced
 * without `keepdims`). Mixed float32/float64 operands compute in float64. A Tensor
 * result goes into `options.out` when given (its `data` is then that array, or a
 * WasmTensor's live view).
 *
 * @throws TypeError for unsupported argument or element types, non-object options, or an
 *   `out` of another kind or dtype (or with a number result); RangeError for a bad shape,
 *   reduction or axis; ShapeError for incompatible shapes or an `out` of another size.
 */
export function mseLoss(
  input: ArrayArgument,
  target: ArrayArgument,
  options?: MseLossOptions & { reduction?: "mean" | "sum" | "elementwise_mean"; axis?: undefined; keepdims?: false; sizeAverage?: undefined; reduce?: undefined },
): number;
export function mseLoss(input: ArrayArgument, target: ArrayArgument, options: MseLossCallOptions & { reduction: "none" }): Tensor;
export function mseLoss(input: ArrayArgument, target: ArrayArgument, options?: MseLossCallOptions): number | Tensor;
export function mseLoss(input: ArrayArgument, target: ArrayArgument, options?: MseLossCallOptions): number | Tensor {
  if (options === undefined) {
    const heap = activeHeap();
    if (heap !== null) {
      const loss = fastLoss(heap, input, target, true);
      if (loss !== undefined) return loss;
    }
  }
  return lossWithOptions("mseLoss", input, target, parseOptions("mseLoss", options, LOSS_OPTIONS));
}
