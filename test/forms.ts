// Shared helpers of the reliability suites (property, fuzz, soak): every array-argument
// form of API.md built from one logical operand, checks that a call left its inputs
// untouched, bit-level comparison, a small seeded PRNG and the environment.

import type * as LibModule from "../ts/index.js";
import type { DType, RefArray } from "./reference.js";
import { numel } from "./reference.js";
import { prng } from "./determinism.mjs";

export type Lib = typeof LibModule;

/** A tensor as the library returns it. */
export interface OutTensor {
  data: Float32Array | Float64Array;
  shape: number[];
}

// ---------------------------------------------------------------------------
// PRNG (mulberry32): test/determinism.mjs holds the one copy (plain JS, so that Node
// workers, Deno and scripts/gen_digest.mjs load it too)

export { prng };

/**
 * Values in one of a few styles: small integers and dyadic fractions (exact in every
 * dtype), uniform doubles, and a style sprinkled with NaN, infinities, zeros of both
 * signs and large values. Magnitudes stay below 1e6 so float32 squares never overflow.
 */
export function makeValues(n: number, style: number, seed: number, dtype: DType): number[] {
  const rand = prng(seed);
  const specials = [Number.NaN, Infinity, -Infinity, 0, -0, 1e6, -1e6, 1e-3];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let v: number;
    switch (style % 5) {
      case 0:
        v = Math.floor(rand() * 17) - 8;
        break;
      case 1:
        v = (Math.floor(rand() * 129) - 64) / 16;
        break;
      case 2:
        v = (rand() * 2 - 1) * 100;
        break;
      case 3:
        v = (rand() * 2 - 1) * 10 ** Math.floor(rand() * 7 - 3);
        break;
      default:
        v = rand() < 0.05 ? specials[Math.floor(rand() * specials.length)]! : (rand() * 2 - 1) * 10;
    }
    out.push(dtype === "float32" ? Math.fround(v) : v);
  }
  return out;
}

/** Non-negative weights, with exact zeros now and then. */
export function makeWeights(n: number, seed: number, dtype: DType): number[] {
  const rand = prng(seed);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = rand();
    const v = r < 0.1 ? 0 : r < 0.3 ? 1 : r < 0.4 ? 0.5 : rand() * 4;
    out.push(dtype === "float32" ? Math.fround(v) : v);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Array-argument forms

export type FormKind =
  | "number"
  | "nested"
  | "frozenNested"
  | "flat"
  | "tensorLike"
  | "tensorLikeArray"
  | "frozenTensorLike"
  | "subarray"
  | "wasm";

/** The forms of API.md that can carry this operand. */
export function formsFor(op: RefArray): FormKind[] {
  const kinds: FormKind[] = ["tensorLike", "subarray", "wasm"];
  if (op.dtype === "float64") {
    kinds.push("tensorLikeArray", "frozenTensorLike");
    if (op.shape.length === 0) kinds.push("number");
    // nesting cannot spell a zero-size dim before the last one
    if (op.shape.length >= 1 && op.shape.slice(0, -1).every((d) => d > 0)) kinds.push("nested", "frozenNested");
  }
  if (op.shape.length === 1) kinds.push("flat");
  return kinds;
}

function nest(values: number[], shape: number[], freeze: boolean): unknown {
  const build = (offset: number, dim: number): unknown[] => {
    const size = shape[dim]!;
    const out: unknown[] = [];
    if (dim === shape.length - 1) {
      for (let i = 0; i < size; i++) out.push(values[offset + i]);
    } else {
      const inner = numel(shape.slice(dim + 1));
      for (let i = 0; i < size; i++) out.push(build(offset + i * inner, dim + 1));
    }
    if (freeze) Object.freeze(out);
    return out;
  };
  return build(0, 0);
}

function typed(dtype: DType, values: number[]): Float32Array | Float64Array {
  return dtype === "float32" ? Float32Array.from(values) : Float64Array.from(values);
}

/** One operand in one form, and a check that the call left it untouched. */
export interface Built {
  arg: unknown;
  unchanged(): boolean;
  dispose(): void;
}

const GUARD = 7.5e30; // written around subarray views: a misread offset shows up at once

export function build(lib: Lib, op: RefArray, kind: FormKind): Built {
  const none = (): void => {};
  switch (kind) {
    case "number":
      return { arg: op.values[0]!, unchanged: () => true, dispose: none };
    case "nested":
    case "frozenNested": {
      const arg = nest(op.values, op.shape, kind === "frozenNested");
      return { arg, unchanged: () => sameValues(flattenNested(arg), op.values), dispose: none };
    }
    case "flat": {
      const arg = typed(op.dtype, op.values);
      return { arg, unchanged: () => sameValues(Array.from(arg), op.values), dispose: none };
    }
    case "tensorLike": {
      const data = typed(op.dtype, op.values);
      const shape = op.shape.slice();
      return { arg: { data, shape }, unchanged: () => sameValues(Array.from(data), op.values) && sameValues(shape, op.shape), dispose: none };
    }
    case "tensorLikeArray":
    case "frozenTensorLike": {
      const data = op.values.slice();
      const shape = op.shape.slice();
      const arg = { data, shape };
      if (kind === "frozenTensorLike") {
        Object.freeze(data);
        Object.freeze(shape);
        Object.freeze(arg);
      }
      return { arg, unchanged: () => sameValues(data, op.values) && sameValues(shape, op.shape), dispose: none };
    }
    case "subarray": {
      const n = op.values.length;
      const all = op.dtype === "float32" ? new Float32Array(n + 5) : new Float64Array(n + 5);
      all.fill(GUARD);
      all.set(op.values, 3);
      const data = all.subarray(3, 3 + n);
      const before = Array.from(all);
      return { arg: { data, shape: op.shape.slice() }, unchanged: () => sameValues(Array.from(all), before), dispose: none };
    }
    case "wasm": {
      const t = lib.alloc(op.dtype, op.shape);
      t.view.set(op.values);
      return {
        arg: t,
        unchanged: () => sameValues(Array.from(t.view), op.values) && sameValues(Array.from(t.shape), op.shape),
        dispose: () => t.dispose(),
      };
    }
  }
}

export function flattenNested(x: unknown): number[] {
  if (!Array.isArray(x)) return [x as number];
  const out: number[] = [];
  for (const e of x) out.push(...flattenNested(e));
  return out;
}

// ---------------------------------------------------------------------------
// Comparison

/** Same float64 value bit for bit, except that every NaN equals every NaN (wasm NaN bits are not deterministic). */
export function sameBits(a: number, b: number): boolean {
  return Object.is(a, b);
}

export function sameValues(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

export function isOutTensor(x: unknown): x is OutTensor {
  return (
    typeof x === "object" &&
    x !== null &&
    ((x as OutTensor).data instanceof Float32Array || (x as OutTensor).data instanceof Float64Array) &&
    Array.isArray((x as OutTensor).shape)
  );
}

export function dtypeOf(t: OutTensor): DType {
  return t.data instanceof Float32Array ? "float32" : "float64";
}

/** Bit-identical results: numbers, tensors (dtype, shape, data) or { loss, grad } pairs. */
export function sameResult(a: unknown, b: unknown): boolean {
  if (typeof a === "number" || typeof b === "number") return typeof a === "number" && typeof b === "number" && sameBits(a, b);
  if (isOutTensor(a) && isOutTensor(b)) {
    return dtypeOf(a) === dtypeOf(b) && sameValues(a.shape, b.shape) && sameValues(a.data, b.data);
  }
  if (typeof a === "object" && a !== null && typeof b === "object" && b !== null && "grad" in a && "grad" in b) {
    const pa = a as { loss: unknown; grad: unknown };
    const pb = b as { loss: unknown; grad: unknown };
    return sameResult(pa.loss, pb.loss) && sameResult(pa.grad, pb.grad);
  }
  return false;
}

export function describeResult(x: unknown): string {
  if (typeof x === "number") return String(x);
  if (isOutTensor(x)) return `${dtypeOf(x)} ${JSON.stringify(x.shape)} [${Array.from(x.data).slice(0, 12).join(", ")}${x.data.length > 12 ? ", ..." : ""}]`;
  if (typeof x === "object" && x !== null && "grad" in x) {
    const p = x as { loss: unknown; grad: unknown };
    return `{ loss: ${describeResult(p.loss)}, grad: ${describeResult(p.grad)} }`;
  }
  try {
    return typeof x === "string" ? JSON.stringify(x) : Array.isArray(x) ? `[${x.map(describeResult).join(", ")}]` : String(x);
  } catch {
    return Object.prototype.toString.call(x); // null-prototype objects have no toString
  }
}

// ---------------------------------------------------------------------------
// The runtime's process object, where there is one (Node)

interface ProcessLike {
  env?: Record<string, string | undefined>;
}

function processLike(): ProcessLike | undefined {
  return (globalThis as { process?: ProcessLike }).process;
}

/** The environment variable `name`, where the runtime has an environment (Node); else undefined. */
export function envVar(name: string): string | undefined {
  return processLike()?.env?.[name];
}
