// Error classes and the wording helpers every message goes through, so that each one
// names the function, the argument and the value received, and prints shapes as [2, 3].

/**
 * Thrown when shapes are incompatible: `input` and `target` that do not broadcast
 * (in PyTorch's words: "The size of tensor a (3) must match the size of tensor b (4)
 * at non-singleton dimension 1"), a `weight` or `gradOutput` that does not fit the loss
 * shape, or `broadcast: false` with differing shapes. It is a `RangeError`, so code that
 * catches `RangeError` keeps working.
 */
export class ShapeError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "ShapeError";
  }
}

/** `[2, 3]`; a rank-0 shape prints as `[]`. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/** PyTorch's `repr(torch.Size(...))`, used in its broadcast warning: `torch.Size([2, 3])`. */
export function torchSize(shape: readonly number[]): string {
  return `torch.Size(${formatShape(shape)})`;
}

const MAX_STRING = 40;

/**
 * A short description of a received value for error messages: the constructor name for
 * objects (`Int32Array`, `Map`), the value itself for primitives (`true`, `"avg"`, `NaN`).
 */
export function describe(value: unknown): string {
  switch (typeof value) {
    case "string": {
      const s = value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}...` : value;
      return JSON.stringify(s);
    }
    case "number":
      return Object.is(value, -0) ? "-0" : String(value);
    case "bigint":
      return `${value}n`;
    case "boolean":
      return String(value);
    case "undefined":
      return "undefined";
    case "symbol":
      return value.toString();
    case "function":
      return "a function";
    default:
      break;
  }
  if (value === null) return "null";
  if (Array.isArray(value)) {
    const items = value as unknown[];
    if (items.length <= 8 && items.every((v) => typeof v === "number" || typeof v === "string" || typeof v === "boolean")) {
      return `[${items.map(describe).join(", ")}]`;
    }
    return `an array of length ${items.length}`;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === null || proto === Object.prototype) return "a plain object";
  // A Proxy of a typed array (or an object made from a typed-array prototype) inherits
  // the name but is not a view: say so rather than name the type it is not.
  if (!ArrayBuffer.isView(value) && (value instanceof Float32Array || value instanceof Float64Array)) {
    return `an object that inherits from ${value instanceof Float32Array ? "Float32Array" : "Float64Array"} but is no typed array (a Proxy?)`;
  }
  const ctor = (value as { constructor?: unknown }).constructor;
  if (typeof ctor === "function" && typeof ctor.name === "string" && ctor.name !== "") return ctor.name;
  return "an object";
}

