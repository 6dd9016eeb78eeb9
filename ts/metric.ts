// MeanSquaredError: a streaming metric like torchmetrics'. The state lives in JS (a
// compensated sum and a count), so nothing in wasm memory needs freeing, and it is plain
// JSON that merges across workers and processes.
import type { ArrayArgument } from "./coerce.js";
import { describe } from "./errors.js";
import { requireHeap } from "./heap.js";
import { fastCount, fastLoss, prepare, reduceAll } from "./loss.js";
import { PRESETS, SUM, type ParsedOptions } from "./options.js";

/** A JSON-safe number: non-finite values are written as strings. */
export type StateNumber = number | "NaN" | "Infinity" | "-Infinity";

/**
 * The metric's state as plain JSON: the running `sum` of squared errors with its
 * TwoSum `compensation` (the value is `sum + compensation`), and the element `count`.
 */
export interface MeanSquaredErrorState {
  sum: StateNumber;
  compensation: StateNumber;
  count: number;
}

/** Options of `MeanSquaredError`. */
export interface MeanSquaredErrorOptions {
  /** `true` (default): mean squared error; `false`: its square root (RMSE). */
  squared?: boolean;
  /** As `mseLoss`'s `broadcast`: `false` demands equal shapes, `true` silences the warning. */
  broadcast?: boolean;
}

function toJson(x: number): StateNumber {
  if (Number.isFinite(x)) return x;
  return Number.isNaN(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity";
}

function fromJson(fn: string, field: string, value: unknown): number {
  if (typeof value === "number") return value;
  if (value === "NaN") return Number.NaN;
  if (value === "Infinity") return Number.POSITIVE_INFINITY;
  if (value === "-Infinity") return Number.NEGATIVE_INFINITY;
  throw new TypeError(
    `${fn}: field '${field}' must be a number or "NaN", "Infinity", "-Infinity" (got ${describe(value)})`,
  );
}

interface Parsed {
  sum: number;
  compensation: number;
  count: number;
}

function parseState(fn: string, state: unknown): Parsed {
  if (typeof state !== "object" || state === null || Array.isArray(state)) {
    throw new TypeError(`${fn}: argument 'state' must be an object {sum, compensation, count} (got ${describe(state)})`);
  }
  const s = state as Record<string, unknown>;
  const sum = fromJson(fn, "sum", s.sum);
  const compensation = fromJson(fn, "compensation", s.compensation);
  const count = s.count;
  if (typeof count !== "number") {
    throw new TypeError(`${fn}: field 'count' must be a number (got ${describe(count)})`);
  }
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new RangeError(`${fn}: field 'count' must be a non-negative integer (got ${describe(count)})`);
  }
  return { sum, compensation, count };
}

function parseMetricOptions(fn: string, options: unknown): { squared: boolean; parsed: ParsedOptions } {
  if (options === undefined) return { squared: true, parsed: SUM_OPTIONS };
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(`${fn}: argument 'options' must be an object (got ${describe(options)})`);
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (key !== "squared" && key !== "broadcast") {
      throw new TypeError(`${fn}: unknown option ${JSON.stringify(key)} (expected squared, broadcast)`);
    }
  }
  for (const key of ["squared", "broadcast"]) {
    const v = o[key];
    if (v !== undefined && typeof v !== "boolean") {
      throw new TypeError(`${fn}: option '${key}' must be a boolean (got ${describe(v)})`);
    }
  }
  const broadcast = o.broadcast as boolean | undefined;
  return {
    squared: (o.squared as boolean | undefined) ?? true,
    parsed: broadcast === undefined ? SUM_OPTIONS : { ...SUM_OPTIONS, broadcast },
  };
}

const SUM_OPTIONS = PRESETS[SUM];
const sums = new Float64Array(2);

/**
 * Streaming mean squared error over any number of batches (torchmetrics'
 * `MeanSquaredError`). Each `update` adds Σ(pred − target)² over the broadcast shape
 * (one kernel pass) and its element count; `compute` gives their quotient (the square
 * root with `squared: false`). The result equals `mseLoss` over the concatenation of
 * all updates, whatever the batch split.
 */
export class MeanSquaredError {
  /** `false`: `compute` returns the root mean squared error. */
  readonly squared: boolean;
  readonly #options: ParsedOptions;
  #sum = 0;
  #compensation = 0;
  #count = 0;

  constructor(options?: MeanSquaredErrorOptions) {
    const { squared, parsed } = parseMetricOptions("MeanSquaredError", options);
    this.squared = squared;
    this.#options = parsed;
  }

  /** TwoSum: `#sum + #compensation` carries the exact running total (to ~2^-106). */
  #add(x: number): void {
    const s = this.#sum + x;
    if (Number.isFinite(s)) {
      const bp = s - this.#sum;
      this.#compensation += this.#sum - (s - bp) + (x - bp);
    }
    this.#sum = s;
  }

  /**
   * Adds a batch. Shapes: pred `(*)`; target `(*)` broadcastable (mseLoss's rules,
   * warning and errors).
   */
  update(pred: ArrayArgument, target: ArrayArgument): this {
    const fn = "MeanSquaredError.update";
    const heap = requireHeap(fn);
    const fast = this.#options.broadcast === undefined ? fastLoss(heap, pred, target, false) : undefined;
    if (fast !== undefined) {
      this.#add(fast);
      this.#count += fastCount;
      return this;
    }
    const p = prepare(fn, heap, pred, target, this.#options, undefined, "pred");
    reduceAll(p, sums);
    this.#add(sums[0] as number);
    this.#count += p.numel;
    return this;
  }

  /** Mean squared error over everything seen (RMSE with `squared: false`); NaN before any update. */
  compute(): number {
    if (this.#count === 0) return Number.NaN;
    const mean = (this.#sum + this.#compensation) / this.#count;
    return this.squared ? mean : Math.sqrt(mean);
  }

  /** Adds another metric's (or a state's) totals into this one; returns `this`. */
  merge(other: MeanSquaredError | MeanSquaredErrorState): this {
    let s: Parsed;
    if (other instanceof MeanSquaredError) {
      s = { sum: other.#sum, compensation: other.#compensation, count: other.#count };
    } else {
      s = parseState("MeanSquaredError.merge", other);
    }
    this.#add(s.sum);
    this.#add(s.compensation);
    this.#count += s.count;
    return this;
  }

  /** The state as plain JSON (non-finite numbers as "NaN" / "Infinity" / "-Infinity"). */
  get state(): MeanSquaredErrorState {
    return { sum: toJson(this.#sum), compensation: toJson(this.#compensation), count: this.#count };
  }

  /** Forgets everything seen. */
  reset(): void {
    this.#sum = 0;
    this.#compensation = 0;
    this.#count = 0;
  }

  /** A metric continuing from `state` (e.g. `JSON.parse` of another process's `.state`). */
  static fromState(state: MeanSquaredErrorState, options?: MeanSquaredErrorOptions): MeanSquaredError {
    const s = parseState("MeanSquaredError.fromState", state);
    const metric = new MeanSquaredError(options);
    metric.#sum = s.sum;
    metric.#compensation = s.compensation;
    metric.#count = s.count;
    return metric;
  }
}
