// Shapes: PyTorch's broadcasting rule (and its error text), axis normalisation, element
// strides, and the 42-word plans the strided kernels read (crate/ABI.md).
import { ShapeError, formatShape, describe } from "./errors.js";

/** Most dimensions a shape may have (the plan format holds 8). */
export const MAX_RANK = 8;

/** Words in a strided-kernel plan: rank, kept, shape[8], 4 x strides[8]. */
export const PLAN_WORDS = 2 + 5 * MAX_RANK;

/**
 * The one plan buffer. Every plan is built right before the call that copies it into
 * wasm memory, so one buffer serves them all (a typed array over 64 bytes costs ~1 us to
 * allocate in V8, more than a small strided call's kernel).
 */
export const planScratch = new Int32Array(PLAN_WORDS);

/**
 * A shape argument as its dims: an array of at most MAX_RANK non-negative safe integers.
 * `what` names it in the errors ("argument 'shape'", "argument 'input' field 'shape'").
 * TypeError for anything but an array of numbers, RangeError for a bad rank or dimension.
 */
export function checkShape(fn: string, what: string, shape: unknown): number[] {
  if (!Array.isArray(shape)) {
    throw new TypeError(`${fn}: ${what} must be an array of non-negative integers (got ${describe(shape)})`);
  }
  if (shape.length > MAX_RANK) {
    throw new RangeError(`${fn}: ${what} has rank ${shape.length}; at most ${MAX_RANK} dimensions are supported`);
  }
  const dims: number[] = [];
  for (const d of shape as unknown[]) {
    if (typeof d !== "number") {
      throw new TypeError(`${fn}: ${what} must contain only numbers (got ${describe(d)} in ${describe(shape)})`);
    }
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new RangeError(
        `${fn}: ${what} has an invalid dimension ${describe(d)} in ${describe(shape)}: dimensions are non-negative integers`,
      );
    }
    dims.push(d);
  }
  return dims;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i] as number;
  return n;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * PyTorch's `infer_size`: dims are aligned from the right, a dim of size 1 stretches.
 * Throws ShapeError in PyTorch's words, naming the dimension of the broadcast shape;
 * tensor a is `input`, tensor b is `target`.
 */
export function broadcastShapes(fn: string, input: readonly number[], target: readonly number[]): number[] {
  const rank = Math.max(input.length, target.length);
  const out = new Array<number>(rank);
  for (let i = rank - 1; i >= 0; i--) {
    const offset = rank - 1 - i;
    const dimA = input.length - 1 - offset;
    const dimB = target.length - 1 - offset;
    const sizeA = dimA >= 0 ? (input[dimA] as number) : 1;
    const sizeB = dimB >= 0 ? (target[dimB] as number) : 1;
    if (sizeA !== sizeB && sizeA !== 1 && sizeB !== 1) {
      throw new ShapeError(
        `The size of tensor a (${sizeA}) must match the size of tensor b (${sizeB}) at non-singleton dimension ${i}: ` +
          `${fn} got input of shape ${formatShape(input)} and target of shape ${formatShape(target)}`,
      );
    }
    out[i] = sizeA === 1 ? sizeB : sizeA;
  }
  return out;
}

/**
 * Checks that an operand of shape `shape` broadcasts to `lossShape` without changing it
 * (a `weight` or `gradOutput` may not expand the loss). `what` names the loss shape in
 * the message ("the loss shape", "the reduced loss shape").
 */
export function checkBroadcastsTo(
  fn: string,
  argument: string,
  shape: readonly number[],
  lossShape: readonly number[],
  what = "the loss shape",
): void {
  const rank = lossShape.length;
  for (let offset = 0; offset < Math.max(rank, shape.length); offset++) {
    const dimL = rank - 1 - offset;
    const dimS = shape.length - 1 - offset;
    const sizeL = dimL >= 0 ? (lossShape[dimL] as number) : 1;
    const sizeS = dimS >= 0 ? (shape[dimS] as number) : 1;
    if (sizeS === sizeL || sizeS === 1) {
      if (dimL < 0 && dimS >= 0) {
        // A leading size-1 dim would still raise the rank of the result.
        throw expandError(fn, argument, shape, lossShape, what);
      }
      continue;
    }
    if (sizeL === 1) throw expandError(fn, argument, shape, lossShape, what);
    const i = Math.max(rank, shape.length) - 1 - offset;
    throw new ShapeError(
      `The size of tensor a (${sizeL}) must match the size of tensor b (${sizeS}) at non-singleton dimension ${i}: ` +
        `${fn} got ${argument} of shape ${formatShape(shape)}, which does not broadcast to ${what} ${formatShape(lossShape)}`,
    );
  }
}

function expandError(
  fn: string,
  argument: string,
  shape: readonly number[],
  lossShape: readonly number[],
  what: string,
): ShapeError {
  return new ShapeError(
    `${fn}: argument '${argument}' of shape ${formatShape(shape)} would expand ${what} ${formatShape(lossShape)}; ` +
      `it must broadcast to ${what} without changing it`,
  );
}

/**
 * Element strides of a row-major operand of `shape` viewed in the broadcast shape
 * `over` (same rank or higher): 0 along broadcast (size-1 or missing) dims.
 */
export function stridesOver(shape: readonly number[], over: readonly number[]): number[] {
  const rank = over.length;
  const offset = rank - shape.length;
  const strides = new Array<number>(rank).fill(0);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const size = shape[i] as number;
    strides[i + offset] = size === 1 ? 0 : stride;
    stride *= size;
  }
  return strides;
}

/**
 * Normalises `axes` (negative from the end) against a loss of `shape` into a mask of
 * reduced dims. Out-of-range and duplicate axes are a RangeError.
 */
export function normaliseAxes(fn: string, axes: readonly number[], shape: readonly number[]): boolean[] {
  const rank = shape.length;
  const mask = new Array<boolean>(rank).fill(false);
  for (const axis of axes) {
    if (axis < -rank || axis >= rank) {
      const expected = rank === 0 ? "a rank-0 loss has no axes" : `expected -${rank}..${rank - 1}`;
      throw new RangeError(
        `${fn}: option 'axis' value ${axis} is out of range for the loss shape ${formatShape(shape)} (${expected})`,
      );
    }
    const dim = axis < 0 ? axis + rank : axis;
    if (mask[dim] === true) {
      throw new RangeError(`${fn}: option 'axis' names dimension ${dim} twice (got ${describe(axes)})`);
    }
    mask[dim] = true;
  }
  return mask;
}

/**
 * Writes a plan for the strided kernels over the broadcast `shape`.
 *
 * `reduced === null`: an elementwise plan (all dims kept, natural order). Otherwise the
 * kept dims come first and the reduced dims after them, each group in natural order.
 * Size-1 dims are dropped, and neighbouring dims of one group are merged when they are
 * contiguous for every operand (`strides` holds a, b, w, g; `null` for an absent one),
 * so the kernels run long innermost loops. Outputs are row-major over the kept dims,
 * which this ordering keeps equal to the natural row-major order of the result.
 *
 * Returns the number of reduced dims left in the plan (0 for an elementwise plan).
 */
export function buildPlan(
  plan: Int32Array,
  shape: readonly number[],
  reduced: readonly boolean[] | null,
  strides: readonly (readonly number[] | null)[],
): number {
  plan.fill(0);
  const rank = shape.length;
  let r = 0;
  let kept = 0;
  let lastReduced = false;
  const place = (d: number, isReduced: boolean): void => {
    const size = shape[d] as number;
    if (size === 1) return;
    if (r > 0 && lastReduced === isReduced) {
      const last = r - 1;
      let contiguous = true;
      for (let o = 0; o < 4; o++) {
        const s = strides[o];
        if (s === null || s === undefined) continue;
        if (plan[2 + MAX_RANK * (o + 1) + last] !== (s[d] as number) * size) {
          contiguous = false;
          break;
        }
      }
      if (contiguous) {
        plan[2 + last] = (plan[2 + last] as number) * size;
        for (let o = 0; o < 4; o++) {
          const s = strides[o];
          if (s !== null && s !== undefined) plan[2 + MAX_RANK * (o + 1) + last] = s[d] as number;
        }
        return;
      }
    }
    plan[2 + r] = size;
    for (let o = 0; o < 4; o++) {
      const s = strides[o];
      if (s !== null && s !== undefined) plan[2 + MAX_RANK * (o + 1) + r] = s[d] as number;
    }
    r++;
    if (!isReduced) kept++;
    lastReduced = isReduced;
  };
  if (reduced === null) {
    for (let d = 0; d < rank; d++) place(d, false);
  } else {
    for (let d = 0; d < rank; d++) if (reduced[d] !== true) place(d, false);
    for (let d = 0; d < rank; d++) if (reduced[d] === true) place(d, true);
  }
  if (r === 0) {
    // Every dim had size 1: one element. An elementwise plan gets one kept dim of
    // size 1; a reduction gets one reduced dim of size 1.
    plan[2] = 1;
    r = 1;
    kept = reduced === null ? 1 : 0;
  }
  plan[0] = r;
  plan[1] = reduced === null ? r : kept;
  return reduced === null ? 0 : r - kept;
}
