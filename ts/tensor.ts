// WasmTensor: a block of WebAssembly memory the caller fills in place and passes to the
// losses without a copy.
import { describe, formatShape } from "./errors.js";
import { requireHeap, type DType, type FloatArray, type Heap, type WasmSource } from "./heap.js";
import { checkShape, numel, sameShape } from "./shape.js";

/** `Symbol.dispose` where the engine has it, else the symbol TypeScript's `using` falls back to. */
const disposeSymbol: typeof Symbol.dispose =
  ((Symbol as { dispose?: symbol }).dispose ?? Symbol.for("Symbol.dispose")) as typeof Symbol.dispose;

/** What the FinalizationRegistry needs to free a leaked tensor (never the tensor itself). */
interface Held {
  readonly heap: Heap;
  readonly block: number;
  readonly bytes: number;
}

const registry =
  typeof FinalizationRegistry === "function"
    ? new FinalizationRegistry<Held>((held) => held.heap.free(held.block, held.bytes))
    : null;

/** The internal state of a tensor; doubles as its zero-copy source for the kernels. */
class TensorState implements WasmSource {
  readonly heap: Heap;
  /** Where the elements start, inside the allocated `block` of `blockBytes`. */
  readonly ptr: number;
  readonly dtype: DType;
  readonly size: number;
  readonly block: number;
  readonly blockBytes: number;
  /**
   * The shape, not frozen: V8 copies a frozen array (the public `shape`) through its
   * slow path, ~200 ns for `slice()`, so internal code reads and copies this one.
   */
  dims: readonly number[] = [];
  disposed = false;
  buffer: ArrayBuffer | null = null;
  view: FloatArray | null = null;

  constructor(heap: Heap, ptr: number, dtype: DType, size: number, block: number, blockBytes: number) {
    this.heap = heap;
    this.ptr = ptr;
    this.dtype = dtype;
    this.size = size;
    this.block = block;
    this.blockBytes = blockBytes;
  }
}

let stateOf: (tensor: WasmTensor) => TensorState;
let createTensor: (state: TensorState, shape: readonly number[]) => WasmTensor;

/**
 * A tensor whose elements live in WebAssembly memory. Passing it to `mseLoss` and the
 * other functions reads it in place (zero-copy). Create it with `alloc`, fill `.view`,
 * and release it with `dispose()` (or `using`). Its `.view` stays valid across
 * `memory.grow`: every access returns a live view over the current memory.
 */
export class WasmTensor implements Disposable {
  readonly #state: TensorState;
  /** Dimensions, row-major (rank 0..8). */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: DType;
  /** Number of elements (the product of `shape`). */
  readonly size: number;

  static {
    stateOf = (tensor: WasmTensor): TensorState => tensor.#state;
    createTensor = (state: TensorState, shape: readonly number[]): WasmTensor => new WasmTensor(state, shape);
  }

  /** Created by `alloc(dtype, shape)` only. */
  private constructor(state: TensorState, shape: readonly number[]) {
    this.#state = state;
    state.dims = shape;
    this.shape = Object.freeze(shape.slice());
    this.dtype = state.dtype;
    this.size = state.size;
  }

  /**
   * A live `Float32Array` / `Float64Array` over the tensor's elements. Re-created after
   * `memory.grow`, so do not keep it across calls that may allocate; read `.view` again.
   * Throws after `dispose()`.
   */
  get view(): Float32Array | Float64Array {
    const s = this.#state;
    if (s.disposed) throw new Error("WasmTensor: .view used after dispose()");
    const buffer = s.heap.memory.buffer;
    if (s.buffer !== buffer || s.view === null) {
      s.view =
        s.dtype === "float32"
          ? new Float32Array(buffer, s.ptr, s.size)
          : new Float64Array(buffer, s.ptr, s.size);
      s.buffer = buffer;
    }
    return s.view;
  }

  /** True once `dispose()` has run. */
  get disposed(): boolean {
    return this.#state.disposed;
  }

  /** Frees the memory. A second call is a no-op; any other use afterwards throws. */
  dispose(): void {
    const s = this.#state;
    if (s.disposed) return;
    s.disposed = true;
    s.view = null;
    s.buffer = null;
    registry?.unregister(s);
    s.heap.free(s.block, s.blockBytes);
  }

  /** `using t = alloc(...)` disposes the tensor at the end of the block. */
  [disposeSymbol](): void {
    this.dispose();
  }
}

/** The zero-copy source of a live tensor; throws (naming `fn` and `argument`) after dispose. */
export function tensorSource(tensor: WasmTensor, fn: string, argument: string): WasmSource {
  const s = stateOf(tensor);
  if (s.disposed) throw new Error(`${fn}: argument '${argument}' is a WasmTensor used after dispose()`);
  return s;
}

/**
 * Whether two tensors of `heap` are live, with the same dtype and shape and at least
 * one element: then they read as one zero-copy pair.
 */
function pairable(heap: Heap, sa: TensorState, sb: TensorState): boolean {
  if (sa.disposed || sb.disposed || sa.heap !== heap || sb.heap !== heap) return false;
  if (sa.dtype !== sb.dtype || sa.size !== sb.size || sa.size === 0) return false;
  // Equal sizes: shapes of rank <= 1 are equal when the ranks are (the hot 1-D case).
  return sa.dims.length <= 1 ? sa.dims.length === sb.dims.length : sameShape(sa.dims, sb.dims);
}

/** The zero-copy sources of a `pairable` pair; undefined for any other pair. */
export function tensorPair(heap: Heap, a: WasmTensor, b: WasmTensor): readonly [WasmSource, WasmSource] | undefined {
  const sa = stateOf(a);
  const sb = stateOf(b);
  return pairable(heap, sa, sb) ? [sa, sb] : undefined;
}

/** Σ(a−b)² of a `pairable` pair, read in place (the zero-copy hot path of `mseLoss`). */
export function tensorPairSum(heap: Heap, a: WasmTensor, b: WasmTensor): number | undefined {
  const sa = stateOf(a);
  const sb = stateOf(b);
  return pairable(heap, sa, sb) ? heap.sumInPlace(sa.dtype, sa.ptr, sb.ptr, sa.size) : undefined;
}

/** A tensor's shape (equal to `tensor.shape`, not frozen: cheap to copy). */
export function tensorDims(tensor: WasmTensor): readonly number[] {
  return stateOf(tensor).dims;
}

/** The heap a tensor belongs to (tensors cannot move between module instances). */
export function tensorHeap(tensor: WasmTensor): Heap {
  return stateOf(tensor).heap;
}

/**
 * Allocates a zero-filled tensor in WebAssembly memory.
 *
 * @param dtype `"float32"` or `"float64"`.
 * @param shape dimensions (rank 0..8); a number is a 1-D length.
 * @returns a WasmTensor of `shape`; its `.view` is a live typed array of `dtype`.
 * @throws TypeError for an unknown dtype, RangeError for a bad shape or when memory
 *   cannot grow (saying how many bytes were asked; earlier tensors stay intact).
 */
export function alloc(dtype: DType, shape: number | readonly number[]): WasmTensor {
  const fn = "alloc";
  const heap = requireHeap(fn);
  if (dtype !== "float32" && dtype !== "float64") {
    throw new TypeError(`${fn}: argument 'dtype' must be "float32" or "float64" (got ${describe(dtype)})`);
  }
  const dims = checkShape(fn, "argument 'shape'", typeof shape === "number" ? [shape] : shape);
  const size = numel(dims);
  const bytes = size * (dtype === "float32" ? 4 : 8);
  const { ptr, block, blockBytes } = heap.allocateTensor(bytes, fn, `a ${dtype} tensor of shape ${formatShape(dims)}`);
  heap.u8().fill(0, ptr, ptr + bytes);
  const state = new TensorState(heap, ptr, dtype, size, block, blockBytes);
  const tensor = createTensor(state, dims);
  registry?.register(tensor, { heap, block, bytes: blockBytes }, state);
  return tensor;
}
