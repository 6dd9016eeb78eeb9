// fast-check generators of whole mseLoss calls (shapes, dtypes, options, weights,
// gradOutput, operand forms) for the property suites, and the code that runs one case
// on a library instance.

import * as fc from "fast-check";
import type { DType, RefArray, RefOptions } from "./reference.js";
import { broadcastShapes, effectiveReduction, numel, sameShape } from "./reference.js";
import type { Built, FormKind, Lib } from "./forms.js";
import { build, formsFor, makeValues, makeWeights } from "./forms.js";

/** Total elements of the broadcast shape stay below this, so thousands of cases run in seconds. */
export const MAX_ELEMENTS = 3000;

export interface OperandSpec {
  shape: number[];
  dtype: DType;
  style: number;
  seed: number;
  form: number; // index into formsFor(), modulo its length
}

export interface Case {
  input: OperandSpec;
  target: OperandSpec;
  weight?: OperandSpec;
  /** a number, an operand broadcasting to the loss shape, or absent (1) */
  gradOutput?: number | OperandSpec;
  options: RefOptions;
}

export function capShape(shape: number[], cap = MAX_ELEMENTS): number[] {
  const out = shape.slice();
  while (numel(out) > cap) {
    let big = 0;
    for (let i = 1; i < out.length; i++) if (out[i]! > out[big]!) big = i;
    out[big] = Math.max(1, Math.floor(out[big]! / 2));
  }
  return out;
}

/** The trailing `keep` dims of `base`, each replaced by 1 where its bit in `ones` is set. */
export function derive(base: number[], keep: number, ones: number): number[] {
  const k = Math.min(keep, base.length);
  return base.slice(base.length - k).map((d, i) => ((ones >> i) & 1 ? 1 : d));
}

const dimArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant(1) },
  { weight: 7, arbitrary: fc.integer({ min: 2, max: 4 }) },
  { weight: 2, arbitrary: fc.integer({ min: 5, max: 9 }) },
  { weight: 1, arbitrary: fc.constant(0) },
);

export const baseShapeArb = fc.array(dimArb, { minLength: 0, maxLength: 6 }).map((s) => capShape(s));

const dtypeModeArb = fc.constantFrom("float32", "float32", "float64", "float64", "mixed") as fc.Arbitrary<DType | "mixed">;

const rawArb = fc.record({
  base: baseShapeArb,
  relation: fc.constantFrom("same", "same", "broadcast", "broadcast", "broadcast"),
  inKeep: fc.nat({ max: 6 }),
  tgtKeep: fc.nat({ max: 6 }),
  inOnes: fc.nat({ max: 63 }),
  tgtOnes: fc.nat({ max: 63 }),
  dtypeMode: dtypeModeArb,
  mixedPick: fc.nat({ max: 7 }),
  reduction: fc.constantFrom(undefined, "mean", "mean", "sum", "sum", "none", "none", "elementwise_mean"),
  legacy: fc.option(fc.record({ sizeAverage: fc.option(fc.boolean(), { nil: undefined }), reduce: fc.option(fc.boolean(), { nil: undefined }) }), {
    nil: undefined,
    freq: 6,
  }),
  broadcast: fc.constantFrom(undefined, undefined, true, false),
  axisMode: fc.constantFrom(0, 0, 0, 1, 2, 2),
  axisPick: fc.array(fc.integer({ min: -6, max: 5 }), { maxLength: 6 }),
  axisNegative: fc.nat({ max: 63 }),
  keepdims: fc.constantFrom(undefined, undefined, false, true),
  weightMode: fc.constantFrom(0, 0, 0, 1, 2),
  weightKeep: fc.nat({ max: 6 }),
  weightOnes: fc.nat({ max: 63 }),
  gradMode: fc.constantFrom(0, 0, 1, 2, 2),
  gradKeep: fc.nat({ max: 6 }),
  gradOnes: fc.nat({ max: 63 }),
  gradNumber: fc.constantFrom(1, 0.5, -2, 3.25, 0),
  styles: fc.array(fc.nat({ max: 4 }), { minLength: 4, maxLength: 4 }),
  seeds: fc.array(fc.integer(), { minLength: 4, maxLength: 4 }),
  forms: fc.array(fc.nat({ max: 20 }), { minLength: 4, maxLength: 4 }),
});

type Raw = typeof rawArb extends fc.Arbitrary<infer R> ? R : never;

function pickDtype(mode: DType | "mixed", pick: number, bit: number): DType {
  if (mode !== "mixed") return mode;
  return (pick >> bit) & 1 ? "float64" : "float32";
}

function caseFromRaw(r: Raw): Case {
  // broadcasting: each operand drops up to two leading dims and turns some dims into 1
  const inShape = r.relation === "same" ? r.base.slice() : derive(r.base, r.base.length - (r.inKeep % 3), r.inOnes);
  const tgtShape = r.relation === "same" ? r.base.slice() : derive(r.base, r.base.length - (r.tgtKeep % 3), r.tgtOnes);
  // mixed: input and target differ in dtype; weight and gradOutput pick either
  const inDtype = pickDtype(r.dtypeMode, r.mixedPick, 0);
  const tgtDtype: DType = r.dtypeMode === "mixed" ? (inDtype === "float32" ? "float64" : "float32") : r.dtypeMode;
  const options: RefOptions = {};
  if (r.reduction !== undefined) options.reduction = r.reduction;
  if (r.legacy !== undefined) {
    if (r.legacy.sizeAverage !== undefined) options.sizeAverage = r.legacy.sizeAverage;
    if (r.legacy.reduce !== undefined) options.reduce = r.legacy.reduce;
  }
  const same = sameShape(inShape, tgtShape);
  if (r.broadcast !== undefined && (r.broadcast || same)) options.broadcast = r.broadcast;
  const shape = broadcastShapes(inShape, tgtShape);
  const reduction = effectiveReduction(options);
  const rank = shape.length;
  if (reduction !== "none" && rank > 0 && r.axisMode > 0) {
    const negative = (a: number, i: number): number => ((r.axisNegative >> i) & 1 ? a - rank : a);
    if (r.axisMode === 1) {
      options.axis = negative((((r.axisPick[0] ?? 0) % rank) + rank) % rank, 0);
    } else {
      const seen: number[] = [];
      for (const a of r.axisPick) {
        const n = ((a % rank) + rank) % rank;
        if (!seen.includes(n)) seen.push(n);
      }
      options.axis = seen.map(negative);
    }
  }
  // rank 0 with keepdims is left out: API.md does not say whether that is a number or a [] tensor
  if (reduction !== "none" && rank > 0 && r.keepdims !== undefined) options.keepdims = r.keepdims;
  const c: Case = {
    input: { shape: inShape, dtype: inDtype, style: r.styles[0]!, seed: r.seeds[0]!, form: r.forms[0]! },
    target: { shape: tgtShape, dtype: tgtDtype, style: r.styles[1]!, seed: r.seeds[1]!, form: r.forms[1]! },
    options,
  };
  if (r.weightMode > 0) {
    const wShape = r.weightMode === 1 ? shape.slice() : derive(shape, r.weightKeep, r.weightOnes);
    const wDtype = pickDtype(r.dtypeMode, r.mixedPick, 1);
    c.weight = { shape: wShape, dtype: wDtype, style: -1, seed: r.seeds[2]!, form: r.forms[2]! };
  }
  // gradOutput: a number, or (for a tensor result) an operand broadcasting to the result shape
  const axisCount = options.axis === undefined ? rank : typeof options.axis === "number" ? 1 : options.axis.length;
  const tensorResult = reduction === "none" || options.keepdims === true || axisCount < rank;
  if (r.gradMode === 1) c.gradOutput = r.gradNumber;
  if (r.gradMode === 2 && tensorResult) {
    const resultShape = resultShapeOf(shape, reduction, options);
    c.gradOutput = { shape: derive(resultShape, r.gradKeep, r.gradOnes), dtype: pickDtype(r.dtypeMode, r.mixedPick, 0), style: r.styles[3]!, seed: r.seeds[3]!, form: r.forms[3]! };
  }
  return c;
}

export function resultShapeOf(shape: number[], reduction: string, options: RefOptions): number[] {
  if (reduction === "none") return shape;
  const rank = shape.length;
  const axes = options.axis === undefined ? shape.map((_, i) => i) : (typeof options.axis === "number" ? [options.axis] : options.axis).map((a) => (a < 0 ? a + rank : a));
  return options.keepdims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
}

/** Valid calls only: every case here must succeed. */
export const caseArb: fc.Arbitrary<Case> = rawArb.map(caseFromRaw);

// ---------------------------------------------------------------------------
// Materialising a case

export function operand(spec: OperandSpec, weight = false): RefArray {
  const n = numel(spec.shape);
  const values = weight ? makeWeights(n, spec.seed, spec.dtype) : makeValues(n, spec.style, spec.seed, spec.dtype);
  return { values, shape: spec.shape, dtype: spec.dtype };
}

export interface Materialised {
  input: RefArray;
  target: RefArray;
  weight?: RefArray;
  gradOutput?: number | RefArray;
}

export function materialise(c: Case): Materialised {
  const m: Materialised = { input: operand(c.input), target: operand(c.target) };
  if (c.weight) m.weight = operand(c.weight, true);
  if (c.gradOutput !== undefined) m.gradOutput = typeof c.gradOutput === "number" ? c.gradOutput : operand(c.gradOutput);
  return m;
}

export function formOf(op: RefArray, pick: number): FormKind {
  const kinds = formsFor(op);
  return kinds[pick % kinds.length]!;
}

/** Library arguments for one case on one library instance; `dispose` frees its WasmTensors. */
export interface Args {
  input: Built;
  target: Built;
  weight?: Built;
  gradOutput?: Built | number;
  all: Built[];
  dispose(): void;
  unchanged(): boolean;
}

export function argsFor(lib: Lib, c: Case, m: Materialised): Args {
  const all: Built[] = [];
  const make = (op: RefArray, spec: OperandSpec): Built => {
    const b = build(lib, op, formOf(op, spec.form));
    all.push(b);
    return b;
  };
  try {
    const a: Args = {
      input: make(m.input, c.input),
      target: make(m.target, c.target),
      all,
      dispose: () => {
        for (const b of all) b.dispose();
      },
      unchanged: () => all.every((b) => b.unchanged()),
    };
    if (m.weight && c.weight) a.weight = make(m.weight, c.weight);
    if (typeof m.gradOutput === "number") a.gradOutput = m.gradOutput;
    else if (m.gradOutput && typeof c.gradOutput === "object") a.gradOutput = make(m.gradOutput, c.gradOutput);
    return a;
  } catch (e) {
    for (const b of all) b.dispose();
    throw e;
  }
}

/** The options object the library gets (weight and gradOutput included when asked). */
export function libOptions(c: Case, a: Args, withGrad: boolean): Record<string, unknown> {
  const o: Record<string, unknown> = { ...c.options };
  if (a.weight) o.weight = a.weight.arg;
  if (withGrad && a.gradOutput !== undefined) o.gradOutput = typeof a.gradOutput === "number" ? a.gradOutput : a.gradOutput.arg;
  return o;
}

export function describeCase(c: Case): string {
  const op = (s: OperandSpec | undefined): string => (s ? `${s.dtype}${JSON.stringify(s.shape)}` : "-");
  return `input ${op(c.input)} target ${op(c.target)} weight ${op(c.weight)} gradOutput ${
    typeof c.gradOutput === "object" ? op(c.gradOutput) : String(c.gradOutput)
  } options ${JSON.stringify(c.options)}`;
}

/** Every API on one case, on one library instance: mseLoss, mseLossBackward, mseLossWithGrad, a metric update. */
export function runAll(l: Lib, c: Case, m: Materialised = materialise(c)): unknown[] {
  const a = argsFor(l, c, m);
  try {
    const out: unknown[] = [];
    out.push(l.mseLoss(a.input.arg as never, a.target.arg as never, libOptions(c, a, false) as never));
    out.push(l.mseLossBackward(a.input.arg as never, a.target.arg as never, libOptions(c, a, true) as never));
    out.push(l.mseLossWithGrad(a.input.arg as never, a.target.arg as never, libOptions(c, a, true) as never));
    const metric = new l.MeanSquaredError();
    metric.update(a.input.arg as never, a.target.arg as never);
    out.push(metric.compute());
    return out;
  } finally {
    a.dispose();
  }
}
