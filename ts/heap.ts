// The typed ABI of crate/ABI.md and the memory discipline around it:
// - views over memory.buffer are derived per use (re-created after memory.grow), never
//   held across a call that may allocate;
// - every pointer and length coming from wasm is read `>>> 0` (wasm32 i32 on the wire);
// - per-call blocks are released in `finally` on every path, so a failed call leaves
//   nothing allocated;
// - JS-heap operands reach the contiguous kernels through a persistent scratch, copied in
//   cache-sized chunks (no allocation per call).
import { getBuffer, getByteOffset, typedLength } from "./intrinsics.js";
import { PLAN_WORDS } from "./shape.js";

/** Element type of a tensor. */
export type DType = "float32" | "float64";

export type FloatArray = Float32Array | Float64Array;

/** Elements living in wasm memory (a WasmTensor): read in place. */
export interface WasmSource {
  readonly ptr: number;
  readonly dtype: DType;
  readonly size: number;
}

/** Where an operand's elements are: a JS-heap typed array, or wasm memory. */
export type Source = FloatArray | WasmSource;

type SumKernel = (state: number, a: number, b: number, w: number, n: number) => void;
type SumOnceKernel = (a: number, b: number, n: number) => number;
type NoneKernel = (a: number, b: number, w: number, n: number, out: number) => void;
type GradKernel = (a: number, b: number, w: number, g: number, gStride: number, norm: number, n: number, out: number) => void;
type FusedKernel = (
  state: number, a: number, b: number, w: number, g: number, gStride: number,
  norm: number, n: number, gradOut: number, lossOut: number,
) => void;
type NoneStridedKernel = (plan: number, a: number, b: number, w: number, out: number) => number;
type ReduceStridedKernel = (
  plan: number, a: number, b: number, w: number,
  outLoss: number, outWeight: number, out: number, divisor: number,
) => number;
type GradStridedKernel = (plan: number, a: number, b: number, w: number, g: number, norm: number, out: number) => number;
type GradReduceStridedKernel = (plan: number, a: number, b: number, w: number, g: number, norm: number, out: number) => number;

/** The exports of the crate (crate/ABI.md), as JS sees them. */
export interface MseExports {
  readonly memory: WebAssembly.Memory;
  mse_alloc(bytes: number): number;
  mse_free(ptr: number, bytes: number): void;
  mse_allocated_bytes(): number;
  mse_simd(): number;
  mse_state_loss(state: number): number;
  mse_state_weight(state: number): number;
  mse_sum_once_f32: SumOnceKernel;
  mse_sum_once_f64: SumOnceKernel;
  mse_sum_f32: SumKernel;
  mse_sum_f64: SumKernel;
  mse_none_f32: NoneKernel;
  mse_none_f64: NoneKernel;
  mse_grad_f32: GradKernel;
  mse_grad_f64: GradKernel;
  mse_fused_f32: FusedKernel;
  mse_fused_f64: FusedKernel;
  mse_none_strided_f32: NoneStridedKernel;
  mse_none_strided_f64: NoneStridedKernel;
  mse_reduce_strided_f32: ReduceStridedKernel;
  mse_reduce_strided_f64: ReduceStridedKernel;
  mse_grad_strided_f32: GradStridedKernel;
  mse_grad_strided_f64: GradStridedKernel;
  mse_grad_reduce_strided_f32: GradReduceStridedKernel;
  mse_grad_reduce_strided_f64: GradReduceStridedKernel;
}

const KERNEL_NAMES = ["sum_once", "sum", "none", "grad", "fused", "none_strided", "reduce_strided", "grad_strided", "grad_reduce_strided"];
const EXPORT_NAMES = [
  "mse_alloc", "mse_free", "mse_allocated_bytes", "mse_simd", "mse_state_loss", "mse_state_weight",
  ...KERNEL_NAMES.flatMap((k) => [`mse_${k}_f32`, `mse_${k}_f64`]),
];

/** Checks that `instance` exports the whole ABI; throws an Error naming what is missing. */
export function bindExports(fn: string, instance: WebAssembly.Instance): MseExports {
  const ex = instance.exports as Record<string, unknown>;
  const missing = EXPORT_NAMES.filter((name) => typeof ex[name] !== "function");
  if (!(ex.memory instanceof WebAssembly.Memory)) missing.unshift("memory");
  if (missing.length > 0) {
    throw new Error(`${fn}: the WebAssembly module is not an mse-wasm build (missing exports: ${missing.join(", ")})`);
  }
  return ex as unknown as MseExports;
}

interface Kernels {
  readonly bytes: number;
  readonly sumOnce: SumOnceKernel;
  readonly sum: SumKernel;
  readonly none: NoneKernel;
  readonly grad: GradKernel;
  readonly fused: FusedKernel;
  readonly noneStrided: NoneStridedKernel;
  readonly reduceStrided: ReduceStridedKernel;
  readonly gradStrided: GradStridedKernel;
  readonly gradReduceStrided: GradReduceStridedKernel;
}

/**
 * Bytes per operand in one chunk of the contiguous path: 16384 float32 or 8192 float64
 * elements, both multiples of 128, so chunked accumulation is bit-identical to one call
 * over the whole array (crate/ABI.md, accumulation scheme).
 */
export const CHUNK_BYTES = 65536;
/** Chunk regions: a, b, w, g, grad out, loss out. Between calls they are the arena. */
const ARENA_BYTES = CHUNK_BYTES * 6;
const STATE_OFFSET = ARENA_BYTES;
const SCALAR_OFFSET = STATE_OFFSET + 64;
const PLAN_OFFSET = SCALAR_OFFSET + 16;
const SCRATCH_BYTES = PLAN_OFFSET + ((PLAN_WORDS * 4 + 15) & ~15);
const PAGE_BYTES = 4096;
/** Tensors from this size on start at one of TENSOR_RESIDUES (see `allocateTensor`). */
const TENSOR_COLOR_MIN = 65536;
/** Offsets within a page, 1 KiB apart and 512+ bytes from its ends, taken in turn. */
const TENSOR_RESIDUES: readonly number[] = [512, 1536, 2560, 3584];

/**
 * Largest block handed to the kernels: Rust slices (and allocator layouts) may not
 * exceed isize::MAX bytes, which is 2^31 - 1 on wasm32.
 */
const MAX_BLOCK_BYTES = 0x7fff_fff0;

/** What the contiguous driver computes. */
export const SUM = 0;
export const NONE = 1;
export const GRAD = 2;
export const FUSED = 3;
export type ContiguousKind = typeof SUM | typeof NONE | typeof GRAD | typeof FUSED;

/** What a strided call computes. */
export const NONE_STRIDED = 0;
export const REDUCE_STRIDED = 1;
export const GRAD_STRIDED = 2;
export const GRAD_REDUCE_STRIDED = 3;
export type StridedKind = typeof NONE_STRIDED | typeof REDUCE_STRIDED | typeof GRAD_STRIDED | typeof GRAD_REDUCE_STRIDED;

/** One strided kernel call; operands are placed whole (zero-copy when possible). */
export interface StridedCall {
  readonly fn: string;
  readonly kind: StridedKind;
  /** The math dtype. */
  readonly dtype: DType;
  readonly plan: Int32Array;
  readonly a: Source;
  readonly b: Source;
  readonly w: Source | null;
  /** Elementwise gradOutput (strides in the plan); `null` uses `gScalar`. */
  readonly g: Source | null;
  readonly gScalar: number;
  readonly norm: number;
  /** Elements the kernel writes (per output). */
  readonly outCount: number;
  /**
   * NONE_STRIDED / GRAD_*: where the result goes, any float dtype (converted on copy-out):
   * a JS array, or wasm memory (a caller's `out`) not among the operands, which the kernel
   * writes itself when it has the call's dtype.
   */
  readonly out: Source | null;
  /** REDUCE_STRIDED: per-output loss sums and weight sums, each copied out when given. */
  readonly outLoss: Float64Array | null;
  readonly outWeight: Float64Array | null;
  /** REDUCE_STRIDED: the result the kernel finishes from each output's sums, or null. */
  readonly finish: StridedFinish | null;
}

/**
 * An `axis` reduction's result, finished by the reduce kernel as it goes: each loss sum
 * over its weight sum, or over `divisor` (the kernel's divisor 0 asks for the former).
 */
export interface StridedFinish {
  /**
   * Where the results go: a JS array, or wasm memory (a caller's `out`) not among the
   * operands, which the kernel writes itself when it has the call's dtype.
   */
  readonly data: Source;
  readonly divisor: number;
  /** Divide by the weight sums (a weighted mean), not by `divisor`. */
  readonly weighted: boolean;
}

export function isArray(src: Source): src is FloatArray {
  return src instanceof Float32Array || src instanceof Float64Array;
}

function sourceSize(src: Source): number {
  return isArray(src) ? src.length : src.size;
}

/** Where a source's elements start in its buffer (wasm memory for a WasmSource), in bytes. */
function byteStart(src: Source): number {
  return isArray(src) ? (getByteOffset.call(src) as number) : src.ptr;
}

/** How many bytes a source's elements span (the intrinsic length: a subclass cannot lie). */
function byteLength(src: Source): number {
  return isArray(src) ? typedLength(src) * (src instanceof Float32Array ? 4 : 8) : src.size * (src.dtype === "float32" ? 4 : 8);
}

function align16(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}

/** One loaded module instance: its exports, views, scratch and arena. */
export class Heap {
  readonly exports: MseExports;
  readonly memory: WebAssembly.Memory;
  readonly simd: boolean;
  /** Base of the persistent scratch (chunk regions / arena, state, scalar, plan). */
  readonly scratch: number;
  readonly #k32: Kernels;
  readonly #k64: Kernels;
  #i32 = new Int32Array(0);
  #f32 = new Float32Array(0);
  #f64 = new Float64Array(0);
  #u8 = new Uint8Array(0);
  /** The accumulator state and the first two chunk regions (the scalar slot and the plan sit at fixed offsets from `scratch`). */
  readonly #state: number;
  readonly #regionA: number;
  readonly #regionB: number;
  /** Bytes of the arena handed out in the current call. */
  #arenaTop = 0;
  /** Large tensors allocated so far (which of TENSOR_RESIDUES the next one takes). */
  #tensors = 0;
  /** Blocks of the current call that did not fit the arena: ptr, bytes pairs. */
  readonly #owned: number[] = [];

  constructor(exports: MseExports) {
    this.exports = exports;
    this.memory = exports.memory;
    this.simd = exports.mse_simd() >>> 0 === 1;
    this.#k32 = {
      bytes: 4,
      sumOnce: exports.mse_sum_once_f32,
      sum: exports.mse_sum_f32,
      none: exports.mse_none_f32,
      grad: exports.mse_grad_f32,
      fused: exports.mse_fused_f32,
      noneStrided: exports.mse_none_strided_f32,
      reduceStrided: exports.mse_reduce_strided_f32,
      gradStrided: exports.mse_grad_strided_f32,
      gradReduceStrided: exports.mse_grad_reduce_strided_f32,
    };
    this.#k64 = {
      bytes: 8,
      sumOnce: exports.mse_sum_once_f64,
      sum: exports.mse_sum_f64,
      none: exports.mse_none_f64,
      grad: exports.mse_grad_f64,
      fused: exports.mse_fused_f64,
      noneStrided: exports.mse_none_strided_f64,
      reduceStrided: exports.mse_reduce_strided_f64,
      gradStrided: exports.mse_grad_strided_f64,
      gradReduceStrided: exports.mse_grad_reduce_strided_f64,
    };
    const raw = exports.mse_alloc(SCRATCH_BYTES + PAGE_BYTES) >>> 0;
    if (raw === 0) {
      throw new RangeError(`init: out of WebAssembly memory: could not allocate the ${SCRATCH_BYTES}-byte scratch`);
    }
    // Chunk regions start half a page past a 4 KiB boundary. Large JS typed arrays start
    // near a page boundary, and copying them to an address a few bytes further on in the
    // page trips 4K aliasing: TypedArray#set ran 5-10x slower (measured: 2.1 ms instead of
    // 0.2 ms per 4 MiB at a 32-byte distance). Half a page away is far from both sides.
    this.scratch = raw + ((PAGE_BYTES / 2 - (raw % PAGE_BYTES) + PAGE_BYTES) % PAGE_BYTES);
    this.#state = this.scratch + STATE_OFFSET;
    this.#regionA = this.scratch;
    this.#regionB = this.scratch + CHUNK_BYTES;
  }

  /**
   * Re-creates the views when memory grew. memory.grow detaches the old buffer, so a
   * zero-length view means "stale" (the memory itself is never empty); this check is
   * cheaper than reading memory.buffer on every call.
   */
  #sync(): void {
    if (this.#u8.length !== 0) return;
    const buffer = this.memory.buffer;
    this.#u8 = new Uint8Array(buffer);
    this.#i32 = new Int32Array(buffer);
    this.#f32 = new Float32Array(buffer);
    this.#f64 = new Float64Array(buffer);
  }

  /** Zeroes the accumulator state (8 f64 words). */
  #zeroState(): void {
    this.#sync();
    const f64 = this.#f64;
    const s = this.#state >>> 3;
    f64[s] = 0;
    f64[s + 1] = 0;
    f64[s + 2] = 0;
    f64[s + 3] = 0;
    f64[s + 4] = 0;
    f64[s + 5] = 0;
    f64[s + 6] = 0;
    f64[s + 7] = 0;
  }

  /** The whole memory as bytes; valid until the next allocation. */
  u8(): Uint8Array {
    this.#sync();
    return this.#u8;
  }

  /** The whole memory as `dtype`; valid until the next allocation. */
  view(dtype: DType): FloatArray {
    this.#sync();
    return dtype === "float32" ? this.#f32 : this.#f64;
  }

  /** Bytes allocated through mse_alloc, and the memory size. */
  stats(): { allocatedBytes: number; memoryBytes: number } {
    return { allocatedBytes: this.exports.mse_allocated_bytes() >>> 0, memoryBytes: this.memory.buffer.byteLength };
  }

  /**
   * A block of `bytes` (16-aligned). Out of memory is a RangeError naming `fn` and how
   * many bytes `what` asked for; the module stays usable.
   */
  allocate(bytes: number, fn: string, what: string): number {
    if (!(bytes <= MAX_BLOCK_BYTES)) {
      throw new RangeError(
        `${fn}: out of WebAssembly memory: ${what} needs ${bytes} bytes, ` +
          `more than the largest wasm32 block (${MAX_BLOCK_BYTES} bytes)`,
      );
    }
    const ptr = this.exports.mse_alloc(bytes) >>> 0;
    if (ptr === 0) {
      throw new RangeError(
        `${fn}: out of WebAssembly memory: could not allocate ${bytes} bytes for ${what} ` +
          `(memory is ${this.memory.buffer.byteLength} bytes)`,
      );
    }
    return ptr;
  }

  free(ptr: number, bytes: number): void {
    this.exports.mse_free(ptr, bytes);
  }

  /**
   * The memory of a WasmTensor of `bytes`: `ptr` where its elements start, inside the
   * allocated `block` of `blockBytes` (what `free` takes). A tensor of TENSOR_COLOR_MIN
   * bytes or more starts at the next of TENSOR_RESIDUES within a 4 KiB page (one page more
   * is allocated for that): tensors allocated one after another (input, target, gradient)
   * would otherwise all start at one offset in the page, and a kernel that stores one
   * while it loads the others trips 4K aliasing (a load waits on an unrelated store).
   * Measured with three 64 Ki float32 tensors: mseLossWithGrad into the third 8-20%
   * slower at a 16-48 byte distance than at 500+ (4 Ki: 5%, 1 Mi: 2-5%). When the larger
   * block does not fit, the tensor gets a plain one.
   */
  allocateTensor(bytes: number, fn: string, what: string): { ptr: number; block: number; blockBytes: number } {
    if (bytes >= TENSOR_COLOR_MIN && bytes + PAGE_BYTES <= MAX_BLOCK_BYTES) {
      const block = this.exports.mse_alloc(bytes + PAGE_BYTES) >>> 0;
      if (block !== 0) {
        const residue = TENSOR_RESIDUES[this.#tensors++ % TENSOR_RESIDUES.length] as number;
        const ptr = block + ((residue - (block % PAGE_BYTES) + PAGE_BYTES) % PAGE_BYTES);
        return { ptr, block, blockBytes: bytes + PAGE_BYTES };
      }
    }
    const ptr = this.allocate(bytes, fn, what);
    return { ptr, block: ptr, blockBytes: bytes };
  }

  /** A per-call block: from the arena when it fits, else allocated and owned by the call. */
  #take(bytes: number, fn: string, what: string): number {
    const size = align16(bytes);
    if (this.#arenaTop + size <= ARENA_BYTES) {
      const ptr = this.scratch + this.#arenaTop;
      this.#arenaTop += size;
      return ptr;
    }
    const ptr = this.allocate(bytes, fn, what);
    this.#owned.push(ptr, bytes);
    return ptr;
  }

  #releaseCall(): void {
    const owned = this.#owned;
    for (let i = 0; i < owned.length; i += 2) this.exports.mse_free(owned[i] as number, owned[i + 1] as number);
    owned.length = 0;
    this.#arenaTop = 0;
  }

  /**
   * Where `src` can be read as `dtype` without a copy: a WasmSource of `dtype`, or a
   * typed array of `dtype` that views this memory (say a WasmTensor's `.view` passed as a
   * plain array; coercion turns those into WasmSources, the direct paths do not).
   * -1 when it must be copied (and converted) into wasm memory.
   */
  #inPlace(src: Source, dtype: DType): number {
    if (!isArray(src)) return src.dtype === dtype ? src.ptr : -1;
    if ((src instanceof Float32Array) !== (dtype === "float32")) return -1;
    this.#sync();
    return getBuffer.call(src) === this.#u8.buffer ? (getByteOffset.call(src) as number) : -1;
  }

  /** Copies elements `start .. start + count` of `src` into `dst`, converting to `view`'s dtype. */
  #copyRange(src: Source, start: number, count: number, dst: number, view: FloatArray): void {
    const to = dst / view.BYTES_PER_ELEMENT;
    if (isArray(src)) {
      // The whole array (the intrinsic length: a subclass cannot lie) or a chunk of a plain one.
      view.set(start === 0 && count === typedLength(src) ? src : src.subarray(start, start + count), to);
    } else {
      const first = (src.ptr >>> (src.dtype === "float32" ? 2 : 3)) + start;
      view.set(this.view(src.dtype).subarray(first, first + count), to);
    }
  }

  /**
   * Writes `values` (a view of this memory) to elements `at ..` of `dest`, converting to
   * its dtype: a JS array, or wasm memory (a memmove within the buffer for one dtype).
   */
  copyOut(dest: Source, at: number, values: FloatArray): void {
    if (isArray(dest)) {
      dest.set(values, at);
    } else {
      this.view(dest.dtype).set(values, (dest.ptr >>> (dest.dtype === "float32" ? 2 : 3)) + at);
    }
  }

  /**
   * Whether `dest` shares memory with any of the operands `a`, `b`, `w`, `g`: then writing
   * it while they are read would change them (and would alias in the kernels), so results
   * go through a temporary first.
   */
  overlaps(dest: Source, a: Source | null, b: Source | null, w: Source | null, g: Source | null): boolean {
    const destStart = byteStart(dest);
    const destEnd = destStart + byteLength(dest);
    if (destEnd === destStart) return false;
    // Wasm memory is compared through the cached view's buffer (the memory's `buffer`
    // getter is a runtime call); two WasmSources share it without a lookup.
    this.#sync();
    const destBuffer = isArray(dest) ? getBuffer.call(dest) : this.#u8.buffer;
    return (
      this.#overlapsOne(destStart, destEnd, destBuffer, a) ||
      this.#overlapsOne(destStart, destEnd, destBuffer, b) ||
      this.#overlapsOne(destStart, destEnd, destBuffer, w) ||
      this.#overlapsOne(destStart, destEnd, destBuffer, g)
    );
  }

  /** Whether `src` shares bytes `destStart .. destEnd` of `destBuffer`. */
  #overlapsOne(destStart: number, destEnd: number, destBuffer: unknown, src: Source | null): boolean {
    if (src === null) return false;
    if ((isArray(src) ? getBuffer.call(src) : this.#u8.buffer) !== destBuffer) return false;
    const start = byteStart(src);
    return start < destEnd && destStart < start + byteLength(src);
  }

  /**
   * Where a kernel can write the result `dest` as `dtype` itself: a WasmSource of `dtype`
   * (a caller's `out` in wasm memory, which no operand shares), else -1 (a JS array: the
   * kernel writes scratch, then it is copied out).
   */
  #outAt(dest: Source | null, dtype: DType): number {
    return dest !== null && !isArray(dest) && dest.dtype === dtype ? dest.ptr : -1;
  }

  /** Elements `start .. start + count` of `src` (read in place at `at`, or if -1 copied to `region`). */
  #place(src: Source, at: number, start: number, count: number, region: number, view: FloatArray): number {
    if (at >= 0) return at + start * view.BYTES_PER_ELEMENT;
    this.#copyRange(src, start, count, region, view);
    return region;
  }

  /** The accumulator state of the last contiguous SUM / FUSED call. */
  stateLoss(): number {
    return this.exports.mse_state_loss(this.#state);
  }

  stateWeight(): number {
    return this.exports.mse_state_weight(this.#state);
  }

  /**
   * Runs a contiguous kernel over `n` elements of equally shaped operands in `dtype`
   * math. Operands that are not in wasm memory as `dtype` go through the chunk regions;
   * outputs are copied (and converted) into `gradOut` / `lossOut`, except that an output
   * in wasm memory of the `dtype` (a caller's `out` that no operand shares) is written by
   * the kernel in place. SUM and FUSED without `lossOut` leave the sums in the state
   * (`stateLoss`, `stateWeight`).
   * `g === null` uses `gScalar` for every element.
   */
  contiguous(
    kind: ContiguousKind,
    dtype: DType,
    n: number,
    a: Source,
    b: Source,
    w: Source | null,
    g: Source | null,
    gScalar: number,
    norm: number,
    gradOut: Source | null,
    lossOut: Source | null,
  ): void {
    const k = dtype === "float32" ? this.#k32 : this.#k64;
    const shift = dtype === "float32" ? 2 : 3;
    const gradAt = this.#outAt(gradOut, dtype);
    const lossAt = this.#outAt(lossOut, dtype);
    const base = this.scratch;
    const state = this.#state;
    // No allocation happens below, so the views stay valid for the whole call.
    this.#zeroState();
    const view = dtype === "float32" ? this.#f32 : this.#f64;
    let gPtr = 0;
    let gStride = 0;
    if (g !== null) {
      gStride = 1;
    } else if (gScalar !== 1) {
      gPtr = base + SCALAR_OFFSET;
      view[gPtr >>> shift] = gScalar;
    }
    // Where each operand is read in place (decided once: no allocation below), -1 if copied.
    const ia = this.#inPlace(a, dtype);
    const ib = this.#inPlace(b, dtype);
    const iw = w === null ? 0 : this.#inPlace(w, dtype);
    const ig = g === null ? 0 : this.#inPlace(g, dtype);
    // One kernel call over everything when nothing goes through the chunk regions (chunk
    // ends are block ends: the sums take the same steps either way, the same bits).
    const outputInPlace =
      kind === SUM || (kind === NONE ? lossAt >= 0 : gradAt >= 0 && (lossOut === null || lossAt >= 0));
    const copying = !outputInPlace || ia < 0 || ib < 0 || iw < 0 || ig < 0;
    const step = copying ? CHUNK_BYTES >>> shift : n;
    const outGrad = base + 4 * CHUNK_BYTES;
    const outLoss = base + 5 * CHUNK_BYTES;
    for (let i = 0; i < n; i += step) {
      const c = Math.min(step, n - i);
      const pa = this.#place(a, ia, i, c, base, view);
      const pb = this.#place(b, ib, i, c, base + CHUNK_BYTES, view);
      const pw = w === null ? 0 : this.#place(w, iw, i, c, base + 2 * CHUNK_BYTES, view);
      if (g !== null) gPtr = this.#place(g, ig, i, c, base + 3 * CHUNK_BYTES, view);
      switch (kind) {
        case SUM:
          k.sum(state, pa, pb, pw, c);
          break;
        case NONE:
          if (lossAt >= 0) {
            k.none(pa, pb, pw, c, lossAt + i * (1 << shift));
          } else {
            k.none(pa, pb, pw, c, outLoss);
            this.copyOut(lossOut as Source, i, view.subarray(outLoss >>> shift, (outLoss >>> shift) + c));
          }
          break;
        case GRAD:
          if (gradAt >= 0) {
            k.grad(pa, pb, pw, gPtr, gStride, norm, c, gradAt + i * (1 << shift));
          } else {
            k.grad(pa, pb, pw, gPtr, gStride, norm, c, outGrad);
            this.copyOut(gradOut as Source, i, view.subarray(outGrad >>> shift, (outGrad >>> shift) + c));
          }
          break;
        default: {
          const lossPtr = lossOut === null ? 0 : lossAt >= 0 ? lossAt + i * (1 << shift) : outLoss;
          if (gradAt >= 0) {
            k.fused(state, pa, pb, pw, gPtr, gStride, norm, c, gradAt + i * (1 << shift), lossPtr);
          } else {
            k.fused(state, pa, pb, pw, gPtr, gStride, norm, c, outGrad, lossPtr);
            this.copyOut(gradOut as Source, i, view.subarray(outGrad >>> shift, (outGrad >>> shift) + c));
          }
          if (lossOut !== null && lossAt < 0) this.copyOut(lossOut, i, view.subarray(outLoss >>> shift, (outLoss >>> shift) + c));
          break;
        }
      }
    }
  }

  /**
   * Σ(a−b)² over two plain arrays of one dtype and `n` elements: the hot path of
   * `mseLoss`, with no per-call allocation (the scratch regions). Longer arrays take the
   * chunked driver.
   */
  sumSquaredDiff(a: FloatArray, b: FloatArray, n: number): number {
    const dtype: DType = a instanceof Float32Array ? "float32" : "float64";
    if (n * (dtype === "float32" ? 4 : 8) > CHUNK_BYTES) {
      this.contiguous(SUM, dtype, n, a, b, null, null, 1, 1, null, null);
      return this.stateLoss();
    }
    const view = this.view(dtype);
    const shift = dtype === "float32" ? 2 : 3;
    view.set(a, this.#regionA >>> shift);
    view.set(b, this.#regionB >>> shift);
    return this.sumInPlace(dtype, this.#regionA, this.#regionB, n);
  }

  /** Σ(a−b)² over `n` elements of `dtype` already in wasm memory (two WasmTensors). */
  sumInPlace(dtype: DType, a: number, b: number, n: number): number {
    // One wasm call even for tiny tensors: reading a view element by element with
    // Math.fround costs more (measured 25-40 ns for the call, 70-90 ns for the replay).
    return (dtype === "float32" ? this.#k32 : this.#k64).sumOnce(a, b, n);
  }

  /**
   * Runs one strided kernel. Operands not readable in place are copied whole into
   * per-call blocks (arena or allocated); every block is released before returning,
   * also when something throws.
   */
  strided(call: StridedCall): void {
    const { fn, dtype } = call;
    const k = dtype === "float32" ? this.#k32 : this.#k64;
    const shift = dtype === "float32" ? 2 : 3;
    const bytes = k.bytes;
    try {
      // 1. Every allocation first: each may grow memory and detach earlier views.
      // Which operands are read in place is decided once, before any allocation (a view of
      // this memory would be detached by a grow, and then no longer recognised).
      const copied: Array<Source | null> = [];
      const hold = (src: Source | null, what: string): number => {
        if (src === null) return 0;
        const at = this.#inPlace(src, dtype);
        if (at >= 0) return at;
        copied.push(src);
        return this.#take(sourceSize(src) * bytes, fn, what);
      };
      const pa = hold(call.a, "'input'");
      const pb = hold(call.b, "'target'");
      const pw = hold(call.w, "'weight'");
      let pg = hold(call.g, "'gradOutput'");
      let out = 0;
      let outWeight = 0;
      let finished = 0;
      // The result goes through a block of this call and is copied out (not written in place).
      let copyResult = false;
      if (call.kind === REDUCE_STRIDED) {
        // Only what is asked for: the kernel writes a finished result without the sums.
        if (call.outLoss !== null) out = this.#take(call.outCount * 8, fn, "the reduced loss");
        if (call.outWeight !== null) outWeight = this.#take(call.outCount * 8, fn, "the weight sums");
        if (call.finish !== null) {
          finished = this.#outAt(call.finish.data, dtype);
          copyResult = finished < 0;
          if (copyResult) finished = this.#take(call.outCount * bytes, fn, "the result");
        }
      } else {
        out = this.#outAt(call.out, dtype);
        copyResult = out < 0;
        if (copyResult) out = this.#take(call.outCount * bytes, fn, call.kind === NONE_STRIDED ? "the loss" : "the gradient");
      }
      // 2. Copy operands in, through views derived now.
      const view = this.view(dtype);
      const copyIn = (src: Source | null, ptr: number): void => {
        if (src !== null && copied.includes(src)) this.#copyRange(src, 0, sourceSize(src), ptr, view);
      };
      copyIn(call.a, pa);
      copyIn(call.b, pb);
      copyIn(call.w, pw);
      copyIn(call.g, pg);
      if (call.g === null && call.gScalar !== 1) {
        pg = this.scratch + SCALAR_OFFSET;
        view[pg >>> shift] = call.gScalar;
      }
      const plan = this.scratch + PLAN_OFFSET;
      this.#sync();
      this.#i32.set(call.plan, plan >>> 2);
      // 3. The kernel.
      let status: number;
      switch (call.kind) {
        case NONE_STRIDED:
          status = k.noneStrided(plan, pa, pb, pw, out);
          break;
        case REDUCE_STRIDED:
          status = k.reduceStrided(plan, pa, pb, pw, out, outWeight, finished, call.finish === null ? 1 : call.finish.weighted ? 0 : call.finish.divisor);
          break;
        case GRAD_STRIDED:
          status = k.gradStrided(plan, pa, pb, pw, pg, call.norm, out);
          break;
        default:
          status = k.gradReduceStrided(plan, pa, pb, pw, pg, call.norm, out);
          break;
      }
      if (status !== 0) {
        throw new Error(`${fn}: internal error: the strided kernel rejected its plan (status ${status})`);
      }
      // 4. Copy results out.
      if (call.kind === REDUCE_STRIDED) {
        if (call.finish !== null && copyResult) {
          const result = this.view(dtype);
          this.copyOut(call.finish.data, 0, result.subarray(finished >>> shift, (finished >>> shift) + call.outCount));
        }
        const f64 = this.view("float64");
        if (call.outLoss !== null) call.outLoss.set(f64.subarray(out >>> 3, (out >>> 3) + call.outCount));
        if (call.outWeight !== null) call.outWeight.set(f64.subarray(outWeight >>> 3, (outWeight >>> 3) + call.outCount));
      } else if (copyResult) {
        const result = this.view(dtype);
        this.copyOut(call.out as Source, 0, result.subarray(out >>> shift, (out >>> shift) + call.outCount));
      }
    } finally {
      this.#releaseCall();
    }
  }
}

let active: Heap | null = null;

/** Installs the heap of this module instance (once, from init). */
export function setActiveHeap(heap: Heap): void {
  active = heap;
}

export function activeHeap(): Heap | null {
  return active;
}

/** The loaded module, or an Error telling the caller to `await init()` first. */
export function requireHeap(fn: string): Heap {
  if (active === null) {
    throw new Error(`${fn}: mse-wasm is not initialised: \`await init()\` (or call initSync()) before using it`);
  }
  return active;
}
