// Input coercion: every accepted form of an array argument becomes an Operand (its
// elements, dtype and shape) without converting element types; anything else is an
// error naming the function, the argument and what was received.
import { ShapeError, describe, formatShape } from "./errors.js";
import { isArray, type DType, type FloatArray, type Heap, type Source } from "./heap.js";
import { MAX_RANK, checkShape, numel, sameShape } from "./shape.js";
import { getBuffer, getByteOffset, getLength, typedLength } from "./intrinsics.js";
import { WasmTensor, tensorDims, tensorHeap, tensorSource } from "./tensor.js";

/** A plain number array, nested to any depth up to rank 8 (rectangular). */
export type NestedNumberArray = readonly (number | NestedNumberArray)[];

/** A tensor-like object: flat row-major `data` with an explicit `shape`. */
export interface TensorLike {
  readonly data: Float32Array | Float64Array | readonly number[];
  readonly shape: readonly number[];
}

/**
 * What the functions accept for `input`, `target`, `weight` and `gradOutput`:
 * a Float32Array / Float64Array (1-D, dtype kept), a bare number (rank-0 float64),
 * a (nested) number array (float64, shape from nesting), a tensor-like
 * `{ data, shape }`, or a WasmTensor (read in place).
 */
export type ArrayArgument = Float32Array | Float64Array | number | NestedNumberArray | TensorLike | WasmTensor;

/** A coerced array argument. */
export interface Operand {
  readonly source: Source;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly size: number;
}

const ACCEPTED = "a Float32Array, Float64Array, number, nested number array, {data, shape} or WasmTensor";

/** `describe`, saying what a WasmTensor that is not this copy's class is. */
export function describeArgument(value: unknown): string {
  const got = describe(value);
  return got === "WasmTensor" ? "a WasmTensor from another mse-wasm module instance" : got;
}

function typeError(fn: string, argument: string, value: unknown): TypeError {
  return new TypeError(`${fn}: argument '${argument}' must be ${ACCEPTED} (got ${describeArgument(value)})`);
}

function tag(value: object): unknown {
  return (value as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag];
}

function isDetached(buffer: ArrayBufferLike): boolean {
  const detached = (buffer as { detached?: unknown }).detached;
  if (typeof detached === "boolean") return detached;
  if (buffer.byteLength !== 0) return false;
  try {
    new Uint8Array(buffer);
    return false;
  } catch {
    return true;
  }
}

/**
 * A Float32Array / Float64Array as a plain view of this realm, or null. Subclasses and
 * arrays from another realm (a vm context, an iframe) are re-viewed over the same
 * buffer through the intrinsic accessors, never copied and never trusted for their
 * length. A view over a detached buffer is a TypeError, not an empty array.
 */
function floatArray(fn: string, label: string, value: unknown): FloatArray | null {
  // Not a view at all (a Proxy of a typed array, or an object made from its prototype,
  // passes instanceof, and the typed-array getters throw on it): not a typed array here.
  if (typeof value !== "object" || value === null || !ArrayBuffer.isView(value)) return null;
  let kind: 32 | 64;
  if (value instanceof Float32Array) {
    if (Object.getPrototypeOf(value) === Float32Array.prototype && value.length !== 0) return value;
    kind = 32;
  } else if (value instanceof Float64Array) {
    if (Object.getPrototypeOf(value) === Float64Array.prototype && value.length !== 0) return value;
    kind = 64;
  } else {
    const t = tag(value);
    if (t === "Float32Array") kind = 32;
    else if (t === "Float64Array") kind = 64;
    else return null;
  }
  const buffer = getBuffer.call(value) as ArrayBufferLike;
  if (isDetached(buffer)) {
    throw new TypeError(
      `${fn}: ${label} is a Float${kind}Array over a detached ArrayBuffer`,
    );
  }
  const byteOffset = getByteOffset.call(value) as number;
  const length = getLength.call(value) as number;
  if (Object.getPrototypeOf(value) === (kind === 32 ? Float32Array.prototype : Float64Array.prototype)) {
    return value as FloatArray;
  }
  return kind === 32 ? new Float32Array(buffer, byteOffset, length) : new Float64Array(buffer, byteOffset, length);
}

/**
 * The source for a typed array: itself, or, when it is a view into the module's own
 * memory (e.g. a WasmTensor's `.view`), a pointer, so that a memory.grow during the
 * call cannot detach it.
 */
function arraySource(heap: Heap | null, array: FloatArray): Source {
  // (the cached view's buffer: `memory.buffer` is a runtime call)
  if (heap !== null && getBuffer.call(array) === heap.u8().buffer) {
    return { ptr: array.byteOffset, dtype: array instanceof Float32Array ? "float32" : "float64", size: array.length };
  }
  return array;
}

function elementError(fn: string, argument: string, value: unknown, path: readonly number[]): TypeError {
  const at = path.length > 0 ? ` at ${formatShape(path)}` : "";
  return new TypeError(`${fn}: argument '${argument}' must contain only numbers (got ${describe(value)}${at})`);
}

function raggedError(fn: string, argument: string, path: readonly number[], detail: string): TypeError {
  return new TypeError(
    `${fn}: argument '${argument}' is a ragged nested array: ${detail} at ${formatShape(path)}`,
  );
}

/** Flattens a rectangular nested number array into float64, checking every element. */
function fromNested(fn: string, argument: string, value: readonly unknown[]): { data: Float64Array; shape: number[] } {
  const shape: number[] = [];
  let cur: unknown = value;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (shape.length > MAX_RANK) {
      throw new RangeError(
        `${fn}: argument '${argument}' is nested more than ${MAX_RANK} deep; at most ${MAX_RANK} dimensions are supported`,
      );
    }
    if (cur.length === 0) break;
    cur = (cur as unknown[])[0];
  }
  const rank = shape.length;
  const size = numel(shape);
  const data = new Float64Array(size);
  if (rank === 1) {
    for (let i = 0; i < value.length; i++) {
      const x = value[i];
      if (typeof x !== "number") {
        if (Array.isArray(x)) throw raggedError(fn, argument, [i], "an array where a number was expected");
        throw elementError(fn, argument, x, [i]);
      }
      data[i] = x;
    }
    return { data, shape };
  }
  const path: number[] = [];
  let offset = 0;
  const fill = (arr: readonly unknown[], depth: number): void => {
    if (arr.length !== shape[depth]) {
      throw raggedError(fn, argument, path, `length ${arr.length} where ${shape[depth]} was expected`);
    }
    const leaf = depth === rank - 1;
    for (let i = 0; i < arr.length; i++) {
      const x = arr[i];
      path.push(i);
      if (leaf) {
        if (typeof x !== "number") {
          if (Array.isArray(x)) throw raggedError(fn, argument, path, "an array where a number was expected");
          throw elementError(fn, argument, x, path);
        }
        data[offset++] = x;
      } else if (Array.isArray(x)) {
        fill(x as readonly unknown[], depth + 1);
      } else if (typeof x === "number") {
        throw raggedError(fn, argument, path, "a number where an array was expected");
      } else {
        throw elementError(fn, argument, x, path);
      }
      path.pop();
    }
  };
  fill(value, 0);
  return { data, shape };
}

function fromTensorLike(heap: Heap | null, fn: string, argument: string, value: { data: unknown; shape: unknown }): Operand {
  const { data, shape } = value;
  const dims = checkShape(fn, `argument '${argument}' field 'shape'`, shape);
  const size = numel(dims);
  let source: Source;
  let dtype: DType;
  let length: number;
  const typed = floatArray(fn, `argument '${argument}' field 'data'`, data);
  if (typed !== null) {
    source = arraySource(heap, typed);
    dtype = typed instanceof Float32Array ? "float32" : "float64";
    length = typed.length;
  } else if (Array.isArray(data)) {
    const flat = data as readonly unknown[];
    const f64 = new Float64Array(flat.length);
    for (let i = 0; i < flat.length; i++) {
      const x = flat[i];
      if (typeof x !== "number") {
        throw new TypeError(
          `${fn}: argument '${argument}' field 'data' must contain only numbers (got ${describe(x)} at [${i}])`,
        );
      }
      f64[i] = x;
    }
    source = f64;
    dtype = "float64";
    length = f64.length;
  } else {
    throw new TypeError(
      `${fn}: argument '${argument}' field 'data' must be a Float32Array, Float64Array or number[] (got ${describe(data)})`,
    );
  }
  if (length !== size) {
    throw new RangeError(
      `${fn}: argument '${argument}' has shape ${formatShape(dims)} (${size} elements) but its data has ${length} elements`,
    );
  }
  return { source, dtype, shape: dims, size };
}

/**
 * Coerces one array argument of `fn` (named `argument` in errors) for the module `heap`
 * (`null`: validation only, before init). TypeError: unsupported type or element type,
 * ragged nesting, a detached buffer. RangeError: a shape that does not match its data,
 * negative or non-integer dimensions, rank above 8.
 */
export function coerce(heap: Heap | null, fn: string, argument: string, value: unknown): Operand {
  if (typeof value === "number") {
    return { source: Float64Array.of(value), dtype: "float64", shape: [], size: 1 };
  }
  if (Array.isArray(value)) {
    const { data, shape } = fromNested(fn, argument, value as readonly unknown[]);
    return { source: data, dtype: "float64", shape, size: data.length };
  }
  if (typeof value !== "object" || value === null) throw typeError(fn, argument, value);
  if (value instanceof WasmTensor) {
    if (heap !== null && tensorHeap(value) !== heap) throw typeError(fn, argument, value);
    return { source: tensorSource(value, fn, argument), dtype: value.dtype, shape: tensorDims(value), size: value.size };
  }
  const typed = floatArray(fn, `argument '${argument}'`, value);
  if (typed !== null) {
    const dtype: DType = typed instanceof Float32Array ? "float32" : "float64";
    return { source: arraySource(heap, typed), dtype, shape: [typed.length], size: typed.length };
  }
  if (!ArrayBuffer.isView(value) && "data" in value && "shape" in value) {
    return fromTensorLike(heap, fn, argument, value as { data: unknown; shape: unknown });
  }
  throw typeError(fn, argument, value);
}

/**
 * The caller's `out`, checked against what the call produces (by `coerceOut`): a typed
 * array or a WasmTensor, and where results go.
 */
export class OutTarget {
  readonly #heap: Heap;
  readonly #value: FloatArray | WasmTensor;
  /**
   * Where results go: the caller's plain array, or wasm memory by pointer (a WasmTensor,
   * or a caller's view into the module's memory). Resolved when `out` is checked, before
   * the call can allocate: a memory.grow during the call detaches such a view, and it
   * would no longer be recognised as wasm memory.
   */
  readonly #dest: Source;

  constructor(heap: Heap, value: FloatArray | WasmTensor, dest: Source) {
    this.#heap = heap;
    this.#value = value;
    this.#dest = dest;
  }

  /** Where kernels write (see `#dest`). */
  dest(): Source {
    return this.#dest;
  }

  /**
   * Writes `values[0 .. n)` element by element (each store rounds to the dtype): for the
   * JS replay of tiny inputs (a typed `set` between element types is a runtime call in
   * V8, 2x slower for 16 elements).
   */
  writeElements(values: Float64Array, n: number): void {
    const d = this.#dest;
    const target = isArray(d) ? d : this.#heap.view(d.dtype);
    const at = isArray(d) ? 0 : d.ptr >>> (d.dtype === "float32" ? 2 : 3);
    for (let i = 0; i < n; i++) target[at + i] = values[i] as number;
  }

  /**
   * The result's `data`: the caller's array, or the WasmTensor's live view. A view into
   * the module's memory that a grow detached during the call is replaced by a view of
   * the same elements over the grown memory.
   */
  data(): FloatArray {
    if (this.#value instanceof WasmTensor) return this.#value.view;
    const dest = this.#dest;
    if (isArray(dest)) return this.#value;
    const buffer = this.#heap.u8().buffer;
    if (getBuffer.call(this.#value) === buffer) return this.#value;
    return dest.dtype === "float32" ? new Float32Array(buffer, dest.ptr, dest.size) : new Float64Array(buffer, dest.ptr, dest.size);
  }
}

/**
 * Checks `out` of `fn` against the result's `dtype` and `shape` (`of`: the gradient, with
 * input's, or a loss Tensor): a
 * Float32Array / Float64Array of that dtype and element count, or a live WasmTensor of
 * this module with that dtype and shape. TypeError for another kind or dtype (or a
 * detached buffer), ShapeError for another size or shape. Allocates nothing in wasm memory.
 */
export function coerceOut(heap: Heap, fn: string, value: unknown, dtype: DType, shape: readonly number[], of: OutOf = GRADIENT_OUT): OutTarget {
  if (value instanceof WasmTensor) {
    if (tensorHeap(value) !== heap) throw new TypeError(outError(fn, of, dtype, shape, "a WasmTensor from another mse-wasm module instance"));
    const source = tensorSource(value, fn, "out");
    const dims = tensorDims(value);
    if (source.dtype !== dtype) throw new TypeError(outError(fn, of, dtype, shape, `a ${source.dtype} WasmTensor`));
    if (!sameShape(dims, shape)) throw new ShapeError(outError(fn, of, dtype, shape, `a WasmTensor of shape ${formatShape(dims)}`));
    return new OutTarget(heap, value, source);
  }
  const typed = floatArray(fn, "argument 'out'", value);
  if (typed === null) throw new TypeError(outError(fn, of, dtype, shape, describeArgument(value)));
  const isF32 = typed instanceof Float32Array;
  if (isF32 !== (dtype === "float32")) throw new TypeError(outError(fn, of, dtype, shape, `a ${isF32 ? "Float32Array" : "Float64Array"}`));
  const length = typedLength(typed);
  if (length !== numel(shape)) {
    throw new ShapeError(outError(fn, of, dtype, shape, `a ${isF32 ? "Float32Array" : "Float64Array"} of ${length} element${length === 1 ? "" : "s"}`));
  }
  return new OutTarget(heap, value as FloatArray, arraySource(heap, typed));
}

/** What an `out` receives: the gradient (input's dtype and shape) or a loss Tensor. */
export const GRADIENT_OUT = 0;
export const LOSS_OUT = 1;
export type OutOf = typeof GRADIENT_OUT | typeof LOSS_OUT;

/** The message for an `out` that does not fit a result of `dtype` and `shape` (built only on error). */
function outError(fn: string, of: OutOf, dtype: DType, shape: readonly number[], got: string): string {
  const size = numel(shape);
  const why = of === GRADIENT_OUT ? "the gradient has input's dtype and shape" : "the loss has the operands' promoted dtype and the result's shape";
  return (
    `${fn}: argument 'out' must be a ${dtype === "float32" ? "Float32Array" : "Float64Array"} of ${size} ` +
    `element${size === 1 ? "" : "s"} or a ${dtype} WasmTensor of shape ${formatShape(shape)} ` +
    `(${why}) (got ${got})`
  );
}
