// Option validation for mseLoss, mseLossBackward, mseLossWithGrad and MSELoss, with
// PyTorch's legacy `size_average`/`reduce` mapping and deprecation texts.
import type { ArrayArgument } from "./coerce.js";
import type { WasmTensor } from "./tensor.js";
import { describe } from "./errors.js";
import { warnOnce } from "./warn.js";

/** How the elementwise losses are combined, as in PyTorch. */
export type Reduction = "mean" | "sum" | "none";

/** Options of `MSELoss`, and the base of those of `mseLoss` and the gradient functions. */
export interface MseLossOptions {
  /**
   * `"mean"` (default), `"sum"` or `"none"`. `"elementwise_mean"` is PyTorch's
   * deprecated alias of `"mean"` and warns.
   */
  reduction?: Reduction | "elementwise_mean";
  /** Legacy PyTorch argument (`size_average`); when given it overrides `reduction`. */
  sizeAverage?: boolean;
  /** Legacy PyTorch argument (`reduce`); when given it overrides `reduction`. */
  reduce?: boolean;
  /**
   * Broadcast `input` and `target` (default `true`). `false` demands equal shapes; an
   * explicit `true` also silences PyTorch's warning about differing shapes.
   */
  broadcast?: boolean;
  /** Reduce only these axes of the broadcast shape (negative axes count from the end). */
  axis?: number | readonly number[];
  /** Keep reduced axes as size 1 (without `axis`: every axis). */
  keepdims?: boolean;
  /** Elementwise weights that broadcast to the loss shape; they join dtype promotion. */
  weight?: ArrayArgument;
}

/** Options of `mseLoss`: those of `MSELoss` and `out` for a Tensor result. */
export interface MseLossCallOptions extends MseLossOptions {
  /**
   * Where to write a Tensor result (`reduction: "none"`, `axis`, or `keepdims`) instead of
   * a new array: a `Float32Array` / `Float64Array` of the result's dtype (the promoted
   * dtype) and element count, or a `WasmTensor` of its dtype and shape (then written in
   * place in wasm memory). The result's `data` is that array (for a WasmTensor: its live
   * `.view`). It may be one of the operands. A call whose result is a number refuses it.
   */
  out?: Float32Array | Float64Array | WasmTensor;
}

/** Options of `mseLossBackward` and `mseLossWithGrad`. */
export interface MseLossBackwardOptions extends MseLossOptions {
  /**
   * The gradient of the final objective w.r.t. the loss (default `1`). A number, or for
   * `"mean"`/`"sum"` a one-element array argument; for `"none"` and `axis` reductions an
   * array argument that broadcasts to the loss shape (for `axis`: the reduced shape,
   * with or without `keepdims`).
   */
  gradOutput?: number | ArrayArgument;
  /**
   * Where to write the gradient instead of a new array: a `Float32Array` /
   * `Float64Array` of `input`'s dtype and element count, or a `WasmTensor` of `input`'s
   * dtype and shape (then written in place in wasm memory). The result's `grad.data` is
   * that array (for a WasmTensor: its live `.view`). It may be one of the operands.
   */
  out?: Float32Array | Float64Array | WasmTensor;
}

export const NONE = 0;
export const MEAN = 1;
export const SUM = 2;
export type ReductionCode = typeof NONE | typeof MEAN | typeof SUM;

/** Options after validation; `weight`/`gradOutput` are still raw (coerced per call). */
export interface ParsedOptions {
  readonly reduction: ReductionCode;
  /** `undefined` when the caller did not say. */
  readonly broadcast: boolean | undefined;
  /** Integer axes as given (normalised once the loss rank is known), or `null`. */
  readonly axis: readonly number[] | null;
  readonly keepdims: boolean;
  readonly weight: unknown;
  readonly gradOutput: unknown;
  /** The result's destination as given (checked per call), or undefined. */
  readonly out: unknown;
}

export const DEFAULT_OPTIONS: ParsedOptions = Object.freeze({
  reduction: MEAN,
  broadcast: undefined,
  axis: null,
  keepdims: false,
  weight: undefined,
  gradOutput: undefined,
  out: undefined,
});

/** Which options a caller takes (`parseOptions`' `kind`). */
export const MODULE_OPTIONS = 0;
/** `mseLoss`: the module's options and `out` (the loss). */
export const LOSS_OPTIONS = 1;
/** The gradient functions: the module's options, `gradOutput` and `out` (the gradient). */
export const GRAD_OPTIONS = 2;
export type OptionsKind = typeof MODULE_OPTIONS | typeof LOSS_OPTIONS | typeof GRAD_OPTIONS;

const MODULE_KEYS = new Set(["reduction", "sizeAverage", "reduce", "broadcast", "axis", "keepdims", "weight"]);
const KEYS: Readonly<Record<OptionsKind, ReadonlySet<string>>> = {
  [MODULE_OPTIONS]: MODULE_KEYS,
  [LOSS_OPTIONS]: new Set([...MODULE_KEYS, "out"]),
  [GRAD_OPTIONS]: new Set([...MODULE_KEYS, "gradOutput", "out"]),
};

const CODES: Readonly<Record<string, ReductionCode>> = { mean: MEAN, sum: SUM, none: NONE };

export function reductionName(code: ReductionCode): Reduction {
  return code === MEAN ? "mean" : code === SUM ? "sum" : "none";
}

/**
 * PyTorch's `_Reduction.legacy_get_string`: an omitted argument counts as `true`;
 * both true -> "mean", only `reduce` -> "sum", `reduce: false` -> "none".
 */
function legacyReduction(sizeAverage: boolean | undefined, reduce: boolean | undefined): ReductionCode {
  const average = sizeAverage ?? true;
  const doReduce = reduce ?? true;
  const code: ReductionCode = average && doReduce ? MEAN : doReduce ? SUM : NONE;
  warnOnce(
    `size_average and reduce args will be deprecated, please use reduction='${reductionName(code)}' instead.`,
  );
  return code;
}

function optionalBoolean(fn: string, name: string, value: unknown): boolean | undefined {
  if (value === undefined || typeof value === "boolean") return value;
  throw new TypeError(`${fn}: option '${name}' must be a boolean (got ${describe(value)})`);
}

function parseReduction(fn: string, value: unknown): ReductionCode {
  if (value === undefined) return MEAN;
  if (typeof value === "string") {
    const code = CODES[value];
    if (code !== undefined && Object.prototype.hasOwnProperty.call(CODES, value)) return code;
    if (value === "elementwise_mean") {
      warnOnce("reduction='elementwise_mean' is deprecated, please use reduction='mean' instead.");
      return MEAN;
    }
  }
  throw new RangeError(
    `${fn}: ${describe(value)} is not a valid value for reduction (expected "mean", "sum" or "none")`,
  );
}

function checkAxisEntry(fn: string, entry: unknown, given: unknown): number {
  if (typeof entry !== "number") {
    throw new TypeError(`${fn}: option 'axis' must be an integer or an array of integers (got ${describe(given)})`);
  }
  if (!Number.isInteger(entry)) {
    throw new RangeError(`${fn}: option 'axis' must contain integers (got ${describe(entry)})`);
  }
  return entry;
}

function parseAxis(fn: string, value: unknown): readonly number[] | null {
  if (value === undefined) return null;
  if (typeof value === "number") return [checkAxisEntry(fn, value, value)];
  if (!Array.isArray(value)) {
    throw new TypeError(`${fn}: option 'axis' must be an integer or an array of integers (got ${describe(value)})`);
  }
  const axes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const axis = checkAxisEntry(fn, value[i], value);
    // Literal repeats are wrong for any rank; [1, -1] is caught once the rank is known.
    if (axes.includes(axis)) {
      throw new RangeError(`${fn}: option 'axis' names axis ${axis} twice (got ${describe(value)})`);
    }
    axes.push(axis);
  }
  return axes;
}

/** The parsed options of a bare `{ reduction }` (also MeanSquaredError's SUM). */
export const PRESETS: Readonly<Record<ReductionCode, ParsedOptions>> = {
  [NONE]: Object.freeze({ ...DEFAULT_OPTIONS, reduction: NONE }),
  [MEAN]: DEFAULT_OPTIONS,
  [SUM]: Object.freeze({ ...DEFAULT_OPTIONS, reduction: SUM }),
};

function unknownOption(fn: string, key: string, kind: OptionsKind): TypeError {
  return new TypeError(`${fn}: unknown option ${JSON.stringify(key)} (expected ${[...KEYS[kind]].join(", ")})`);
}

/**
 * Validates `options` for `fn`, a caller of `kind` (MODULE_OPTIONS, LOSS_OPTIONS: also
 * `out`, GRAD_OPTIONS: also `gradOutput` and `out`). Throws TypeError (not an object,
 * wrong option types, unknown keys) or RangeError (unknown reduction, non-integer or
 * repeated axis, `axis` with `"none"`).
 */
export function parseOptions(fn: string, options: unknown, kind: OptionsKind): ParsedOptions {
  if (options === undefined) return DEFAULT_OPTIONS;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(`${fn}: argument 'options' must be an object (got ${describe(options)})`);
  }
  const o = options as Record<string, unknown>;
  const keys = KEYS[kind];
  // One pass over the keys without allocating: `{ reduction: "sum" }` is the common case,
  // and a training loop's `{ out }` / `{ reduction, gradOutput, out }` the next.
  let onlyReduction = true;
  let loopKeys = true;
  for (const key in o) {
    if (!Object.prototype.hasOwnProperty.call(o, key)) continue;
    if (key === "reduction") continue;
    if (!keys.has(key)) throw unknownOption(fn, key, kind);
    onlyReduction = false;
    if (key !== "out" && key !== "gradOutput") loopKeys = false;
  }
  if (onlyReduction) return PRESETS[parseReduction(fn, o.reduction)];
  const gradOutput = kind === GRAD_OPTIONS ? o.gradOutput : undefined;
  const out = kind === MODULE_OPTIONS ? undefined : o.out;
  if (loopKeys) return { ...PRESETS[parseReduction(fn, o.reduction)], gradOutput, out };
  const sizeAverage = optionalBoolean(fn, "sizeAverage", o.sizeAverage);
  const reduce = optionalBoolean(fn, "reduce", o.reduce);
  // As in PyTorch, legacy arguments replace `reduction` entirely (it is not even read).
  const reduction =
    sizeAverage !== undefined || reduce !== undefined
      ? legacyReduction(sizeAverage, reduce)
      : parseReduction(fn, o.reduction);
  const broadcast = optionalBoolean(fn, "broadcast", o.broadcast);
  const keepdims = optionalBoolean(fn, "keepdims", o.keepdims) ?? false;
  const axis = parseAxis(fn, o.axis);
  if (axis !== null && reduction === NONE) {
    throw new RangeError(
      `${fn}: option 'axis' (got ${describe(o.axis)}) cannot be combined with reduction "none"`,
    );
  }
  return {
    reduction,
    broadcast,
    axis,
    keepdims,
    weight: o.weight,
    gradOutput,
    out,
  };
}
