// The typed-array accessors as the engine defines them: a subclass (or an own property)
// cannot lie through them. Shared by coercion and by the direct paths of the losses.
import type { FloatArray } from "./heap.js";

const typedArrayPrototype = Object.getPrototypeOf(Float32Array.prototype) as object;
function intrinsicGetter(name: string): (this: unknown) => unknown {
  const get = Object.getOwnPropertyDescriptor(typedArrayPrototype, name)?.get;
  if (get === undefined) throw new Error(`mse-wasm: this engine's typed arrays have no '${name}' getter`);
  return get as (this: unknown) => unknown;
}
export const getBuffer = intrinsicGetter("buffer");
export const getByteOffset = intrinsicGetter("byteOffset");
export const getLength = intrinsicGetter("length");

/** A typed array's length from its internal slot (never a subclass's or an own property's). */
export function typedLength(array: FloatArray): number {
  return getLength.call(array) as number;
}

/**
 * The length of two typed arrays of one kind (two Float32Arrays or two Float64Arrays of
 * this realm, subclasses included), read through the intrinsic accessor (which neither
 * a subclass nor an own property can override) when both have it; 0 for anything else,
 * also for a detached buffer. Cheap: no prototype lookups (Object.getPrototypeOf on a
 * typed array is a runtime call in V8, ~13 ns).
 */
export function sameKindLength(a: unknown, b: unknown): number {
  if (a instanceof Float32Array) {
    if (!(b instanceof Float32Array)) return 0;
  } else if (a instanceof Float64Array) {
    if (!(b instanceof Float64Array)) return 0;
  } else {
    return 0;
  }
  // A Proxy passes instanceof but is no view; its traps go through coercion.
  if (!ArrayBuffer.isView(a) || !ArrayBuffer.isView(b)) return 0;
  const n = getLength.call(a) as number;
  return n === (getLength.call(b) as number) ? n : 0;
}
