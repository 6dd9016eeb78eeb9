// Gradients of the MSE loss w.r.t. `input`: mseLossBackward and the fused mseLossWithGrad.
import { coerceOut, type ArrayArgument, type Operand, type OutTarget } from "./coerce.js";
import { ShapeError, formatShape } from "./errors.js";
import {
  requireHeap,
  FUSED,
  GRAD,
  GRAD_REDUCE_STRIDED,
  GRAD_STRIDED,
  type FloatArray,
  type Heap,
  type Source,
} from "./heap.js";
import {
  axisSums,
  elementAt,
  expandTo,
  forward,
  fullResult,
  makeArray,
  operandStrides,
  deliver,
  directPair,
  prepare,
  reduceAll,
  reducedOf,
  resultDest,
  type Prepared,
  type Reduced,
  type Tensor,
  type WeightSums,
} from "./loss.js";
import { GRAD_OPTIONS, MEAN, NONE, SUM, parseOptions, reductionName, type MseLossBackwardOptions, type ParsedOptions } from "./options.js";
import { buildPlan, checkBroadcastsTo, planScratch } from "./shape.js";
import { SMALL_MAX, smallGradSum32, smallGradSum64, smallScratch, smallSquares } from "./small.js";

/** The loss and its gradient w.r.t. `input`, from `mseLossWithGrad`. */
export interface LossWithGrad {
  /** As `mseLoss` returns it. */
  loss: number | Tensor;
  /** Shape and dtype of `input`; its `data` is the caller's `out` when one was given. */
  grad: Tensor;
}

/** gradOutput and the normalisation, resolved against the loss and reduction. */
interface GradSpec {
  /** Elementwise gradOutput, or null for `gScalar` everywhere. */
  readonly g: Source | null;
  /** gradOutput's shape in the loss rank (reduced dims as 1), for its strides. */
  readonly gShape: readonly number[];
  readonly gSize: number;
  readonly gScalar: number;
  readonly norm: number;
}

const NO_SHAPE: readonly number[] = [];

/**
 * gradOutput of an `axis` reduction in the loss rank (reduced dims as 1). It broadcasts
 * to the result shape (with keepdims: the loss shape with reduced dims as 1; without:
 * the remaining dims); the other form is accepted too when only it fits.
 */
function keepFormShape(p: Prepared, g: Operand, red: Reduced, keepdims: boolean): number[] {
  const asKeep = (): number[] => {
    checkBroadcastsTo(p.fn, "gradOutput", g.shape, red.keepShape, "the reduced loss shape");
    return new Array<number>(red.keepShape.length - g.shape.length).fill(1).concat(g.shape);
  };
  const asDrop = (): number[] => {
    checkBroadcastsTo(p.fn, "gradOutput", g.shape, red.dropShape, "the reduced loss shape");
    const padded = new Array<number>(red.dropShape.length - g.shape.length).fill(1).concat(g.shape);
    const keep: number[] = [];
    let k = 0;
    for (let d = 0; d < red.mask.length; d++) keep.push(red.mask[d] === true ? 1 : (padded[k++] as number));
    return keep;
  };
  const [first, second] = keepdims ? [asKeep, asDrop] : [asDrop, asKeep];
  try {
    return first();
  } catch (error) {
    try {
      return second();
    } catch {
      throw error;
    }
  }
}

function scalarSpec(gScalar: number, norm: number): GradSpec {
  return { g: null, gShape: NO_SHAPE, gSize: 1, gScalar, norm };
}

function resolveGrad(p: Prepared, o: ParsedOptions, sums: WeightSums | null): GradSpec {
  const g = p.grad;
  const gScalar = g !== null && g.size === 1 ? elementAt(p.heap, g.source, 0) : p.gradScalar;
  if (o.reduction === NONE) {
    if (g === null) return scalarSpec(gScalar, 2);
    checkBroadcastsTo(p.fn, "gradOutput", g.shape, p.shape);
    if (g.size === 1) return scalarSpec(gScalar, 2);
    return { g: g.source, gShape: g.shape, gSize: g.size, gScalar: 1, norm: 2 };
  }
  const red = sums?.reduced ?? reducedOf(p.fn, p.shape, o);
  if (red.full) {
    if (g !== null && g.size !== 1) {
      throw new ShapeError(
        `${p.fn}: argument 'gradOutput' must be a number or a one-element tensor for reduction ` +
          `"${reductionName(o.reduction)}" (got shape ${formatShape(g.shape)})`,
      );
    }
    if (o.reduction === SUM) return scalarSpec(gScalar, 2);
    if (p.weight === null) return scalarSpec(gScalar, 2 / p.numel);
    let weightSum: number;
    if (sums !== null) {
      weightSum = sums.weightSum;
    } else {
      const both = new Float64Array(2);
      reduceAll(p, both);
      weightSum = both[1] as number;
    }
    return scalarSpec(gScalar, 2 / weightSum);
  }
  const gKeep = g === null ? null : keepFormShape(p, g, red, o.keepdims);
  if (!(o.reduction === MEAN && p.weight !== null)) {
    const norm = o.reduction === SUM ? 2 : 2 / red.reducedCount;
    if (g === null || gKeep === null || g.size === 1) return scalarSpec(gScalar, norm);
    return { g: g.source, gShape: gKeep, gSize: g.size, gScalar: 1, norm };
  }
  // Weighted mean over axes: each output has its own divisor Σw, which the kernels'
  // single `norm` cannot carry, so it is folded into gradOutput: g'[j] = g[j] * 2 / Σw[j].
  const weights = sums?.axisWeights ?? axisSums(p, red, true).weight;
  const gValues =
    g === null || gKeep === null ? null : expandTo(p.heap, { source: g.source, dtype: g.dtype, shape: gKeep, size: g.size }, red.keepShape);
  const folded = makeArray(p.dtype, red.outCount);
  for (let j = 0; j < red.outCount; j++) {
    const gj = gValues === null ? gScalar : (gValues[j] as number);
    folded[j] = gj * (2 / ((weights as Float64Array)[j] as number));
  }
  return { g: folded, gShape: red.keepShape, gSize: red.outCount, gScalar: 1, norm: 1 };
}

/**
 * The gradient w.r.t. input of a prepared call, written to `out` when given; `sums`
 * reuses a forward pass's weight sums.
 */
export function gradient(p: Prepared, o: ParsedOptions, sums: WeightSums | null, out: OutTarget | null): Tensor {
  const spec = resolveGrad(p, o, sums);
  const input = p.input;
  const shape = input.shape.slice();
  // Nothing reaches the loss (a broadcast dim of size 0): the gradient is all zeros, a
  // new array (that `deliver` copies into a caller's `out`).
  if (p.numel === 0) return { data: deliver(p.heap, out, makeArray(input.dtype, input.size)), shape };
  const w = p.weight === null ? null : p.weight.source;
  const data = resultDest(p.heap, out, input.dtype, input.size, input.source, p.target.source, w, spec.g);
  const T = p.dtype;
  const norm = T === "float32" ? Math.fround(spec.norm) : spec.norm;
  if (input.size === p.numel && p.contiguous && (spec.g === null || spec.gSize === p.numel)) {
    p.heap.contiguous(GRAD, T, p.numel, input.source, p.target.source, w, spec.g, spec.gScalar, norm, data, null);
  } else {
    const strides = operandStrides(p, spec.g === null ? null : { shape: spec.gShape });
    // When target broadcasting expanded input, the elementwise gradient is summed over the
    // dims along which input was broadcast (kept dims = input's own, in its row-major order).
    const expanded = input.size !== p.numel;
    const inputStrides = strides[0] as number[];
    const mask = expanded ? p.shape.map((size, d) => inputStrides[d] === 0 && size !== 1) : null;
    buildPlan(planScratch, p.shape, mask, strides);
    p.heap.strided({
      fn: p.fn, kind: expanded ? GRAD_REDUCE_STRIDED : GRAD_STRIDED, dtype: T, plan: planScratch,
      a: input.source, b: p.target.source, w, g: spec.g, gScalar: spec.gScalar, norm,
      outCount: input.size, out: data, outLoss: null, outWeight: null, finish: null,
    });
  }
  return { data: deliver(p.heap, out, data), shape };
}

/** mseLossBackward with parsed options (also MSELoss.backward). */
export function backwardWithOptions(fn: string, input: unknown, target: unknown, o: ParsedOptions, gradOutput: unknown): Tensor {
  const heap = requireHeap(fn);
  const fast = fastGrad(heap, fn, input, target, o, gradOutput, false);
  if (fast !== undefined) return fast;
  const p = prepare(fn, heap, input, target, o, gradOutput);
  const out = o.out === undefined ? null : coerceOut(heap, fn, o.out, p.input.dtype, p.input.shape);
  return gradient(p, o, null, out);
}

/**
 * The training-loop case of mseLossBackward (`fused` false) and mseLossWithGrad (`fused`
 * true) without the general planning: a `DirectPair` (two typed arrays or two
 * WasmTensors of one dtype and shape); no weight, axis or keepdims; gradOutput absent or
 * a number. Same kernels and the same bits as the general path; inputs of at most 16
 * elements are replayed in JS (ts/small.ts), the gradient elementwise as the kernel
 * computes it: `((input - target) * norm) * gradOutput` in the dtype.
 * Returns undefined for anything else.
 */
function fastGrad(heap: Heap, fn: string, input: unknown, target: unknown, o: ParsedOptions, gradOutput: unknown, fused: true): LossWithGrad | undefined;
function fastGrad(heap: Heap, fn: string, input: unknown, target: unknown, o: ParsedOptions, gradOutput: unknown, fused: false): Tensor | undefined;
function fastGrad(
  heap: Heap,
  fn: string,
  input: unknown,
  target: unknown,
  o: ParsedOptions,
  gradOutput: unknown,
  fused: boolean,
): LossWithGrad | Tensor | undefined {
  if (o.axis !== null || o.keepdims || o.weight !== undefined) return undefined;
  let gScalar = 1;
  if (typeof gradOutput === "number") gScalar = gradOutput;
  else if (gradOutput !== undefined) return undefined;
  const p = directPair(heap, input, target);
  if (p === undefined) return undefined;
  const { dtype, n } = p;
  const out = o.out === undefined ? null : coerceOut(heap, fn, o.out, dtype, p.shape);
  const f32 = dtype === "float32";
  const none = o.reduction === NONE;
  const mean = o.reduction === MEAN;
  const norm = f32 ? Math.fround(mean ? 2 / n : 2) : mean ? 2 / n : 2;
  // the loss of a fused call: its sum, or for "none" its elements
  let sum = 0;
  const lossOut = fused && none ? makeArray(dtype, n) : null;
  let data: FloatArray;
  if (n <= SMALL_MAX) {
    // Tiny inputs: the kernels' arithmetic replayed in JS (same bits) costs less than
    // copying in, calling the kernel and copying out.
    const { x, y, ia, ib } = p;
    if (lossOut !== null) smallSquares(x, ia, y, ib, n, f32, lossOut);
    // The gradient `((x - y) * norm) * g`, each operation rounded to the dtype as in the
    // kernel, and the fused call's sum from the same differences (ts/small.ts).
    // Into the caller's `out` through a scratch: every operand is read before `out` is
    // written, however their memory overlaps (no buffer lookups needed).
    const g = out === null ? makeArray(dtype, n) : smallScratch;
    const withSum = fused && lossOut === null;
    sum = f32 ? smallGradSum32(x, ia, y, ib, n, norm, gScalar, g, withSum) : smallGradSum64(x, ia, y, ib, n, norm, gScalar, g, withSum);
    if (out === null) {
      data = g;
    } else {
      out.writeElements(smallScratch, n);
      data = out.data();
    }
  } else {
    const dest = resultDest(heap, out, dtype, n, p.a, p.b);
    heap.contiguous(fused ? FUSED : GRAD, dtype, n, p.a, p.b, null, null, gScalar, norm, dest, lossOut);
    if (fused && lossOut === null) sum = heap.stateLoss();
    data = deliver(heap, out, dest);
  }
  const grad: Tensor = { data, shape: p.shape };
  if (!fused) return grad;
  if (lossOut !== null) return { loss: { data: lossOut, shape: p.shape.slice() }, grad };
  return { loss: o.reduction === SUM ? sum : sum / n, grad };
}

/** mseLossWithGrad with parsed options. */
export function lossWithGradWithOptions(fn: string, input: unknown, target: unknown, o: ParsedOptions): LossWithGrad {
  const heap = requireHeap(fn);
  const fast = fastGrad(heap, fn, input, target, o, o.gradOutput, true);
  if (fast !== undefined) return fast;
  const p = prepare(fn, heap, input, target, o, o.gradOutput);
  const out = o.out === undefined ? null : coerceOut(heap, fn, o.out, p.input.dtype, p.input.shape);
  if (o.axis === null && p.contiguous && p.numel > 0 && !(o.reduction === MEAN && p.weight !== null)) {
    const spec = resolveGrad(p, o, null);
    if (spec.g === null || spec.gSize === p.numel) {
      // One pass over the operands: bit-identical to the separate loss and gradient
      // kernels (same chunking, same norm, same accumulation scheme).
      const T = p.dtype;
      const norm = T === "float32" ? Math.fround(spec.norm) : spec.norm;
      const w = p.weight === null ? null : p.weight.source;
      const grad = resultDest(heap, out, p.input.dtype, p.input.size, p.input.source, p.target.source, w, spec.g);
      const lossOut = o.reduction === NONE ? makeArray(T, p.numel) : null;
      heap.contiguous(FUSED, T, p.numel, p.input.source, p.target.source, w, spec.g, spec.gScalar, norm, grad, lossOut);
      let loss: number | Tensor;
      if (lossOut !== null) {
        loss = { data: lossOut, shape: p.shape.slice() };
      } else {
        const sum = heap.stateLoss();
        loss = fullResult(T, o.reduction === SUM ? sum : sum / p.numel, o.keepdims ? p.shape.map(() => 1) : null);
      }
      return { loss, grad: { data: deliver(heap, out, grad), shape: p.input.shape.slice() } };
    }
  }
  const sums: WeightSums = { weightSum: Number.NaN, axisWeights: null, reduced: null };
  const loss = forward(p, o, sums);
  return { loss, grad: gradient(p, o, sums, out) };
}

/**
 * The gradient of `mseLoss(input, target, options)` w.r.t. `input`, as PyTorch's
 * `input.grad` after `F.mse_loss(input, target, reduction).backward(gradOutput)`:
 * `((input - target) * norm) * gradOutput * weight` with `norm` = 2/N for `"mean"`
 * (2/Σw when weighted), 2 for `"sum"`/`"none"`, summed over the dims along which
 * `target` broadcasting expanded `input`.
 *
 * Shapes: input `(*)`; target `(*)` broadcastable; gradOutput a number, or for
 * `"mean"`/`"sum"` a one-element tensor, for `"none"` broadcastable to the loss shape,
 * for `axis` broadcastable to the reduced shape (with or without keepdims).
 * Output: a Tensor of input's shape and dtype (mixed dtypes compute in float64), in a
 * new array or, with `options.out`, in the caller's array or WasmTensor.
 */
export function mseLossBackward(input: ArrayArgument, target: ArrayArgument, options?: MseLossBackwardOptions): Tensor {
  const o = parseOptions("mseLossBackward", options, GRAD_OPTIONS);
  return backwardWithOptions("mseLossBackward", input, target, o, o.gradOutput);
}

/**
 * The loss and its gradient w.r.t. `input` in one call. For the common case (input
 * not expanded by broadcasting, no `axis`) it reads each operand once; the results are
 * bit-identical to `mseLoss` followed by `mseLossBackward` with the same options.
 *
 * Shapes: as `mseLoss` (loss) and `mseLossBackward` (grad, input's shape and dtype).
 */
export function mseLossWithGrad(input: ArrayArgument, target: ArrayArgument, options?: MseLossBackwardOptions): LossWithGrad {
  const o = parseOptions("mseLossWithGrad", options, GRAD_OPTIONS);
  return lossWithGradWithOptions("mseLossWithGrad", input, target, o);
}
