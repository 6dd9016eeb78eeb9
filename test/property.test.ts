// Differential property tests: random shapes (rank 0..6, sizes 0..9, 1s to broadcast),
// dtypes, reductions, legacy flags, axis/keepdims, weights and gradOutput against the
// float64 reference in test/reference.ts, to the accuracy bounds of API.md; incompatible
// shapes and bad options throw the right error; and the SIMD and the scalar build agree
// bit for bit on every generated case (two module instances side by side).
//
// Fixed seed; FUZZ_RUNS scales every property (default: a few thousand cases in all),
// FUZZ_SEED picks another seed.

import * as fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import * as lib from "../ts/index.js";
import type { Case, Materialised } from "./cases.js";
import { argsFor, baseShapeArb, caseArb, derive, describeCase, libOptions, materialise, operand } from "./cases.js";
import { freshInstance, type Instance } from "./helpers/instance.js";
import { build, describeResult, dtypeOf, envVar, formsFor, isOutTensor, sameResult } from "./forms.js";
import type { DType, RefArray, RefLoss, RefOptions, RefValue } from "./reference.js";
import { U32, U64, broadcastMismatch, close, effectiveReduction, formatShape, promote, refGrad, refLoss, refMetric, sameShape } from "./reference.js";
import { captureWarnings, type WarningCapture } from "./helpers/warnings.js";

const SEED = Number(envVar("FUZZ_SEED") ?? "") || 0x5eed6;
// FUZZ_RUNS is the number of differential cases; the other properties scale with it.
const BASE_RUNS = Number(envVar("FUZZ_RUNS") ?? "") || 2000;
const runs = (share: number): number => Math.max(20, Math.round(BASE_RUNS * share));

const params = (share: number): fc.Parameters<unknown> => ({ seed: SEED, numRuns: runs(share), endOnFailure: true });

let log: WarningCapture;
let baseline = 0;

beforeAll(async () => {
  log = captureWarnings();
  await lib.init();
  baseline = lib.heapStats().allocatedBytes;
});

class CheckFailure extends Error {}

function check(ok: boolean, message: () => string): void {
  if (!ok) throw new CheckFailure(message());
}

/** API.md's bound on "mean"/"sum" for data of this dtype. */
function sumBound(dtype: DType): number {
  return dtype === "float32" ? 1e-6 : 1e-13;
}

function unit(dtype: DType): number {
  return dtype === "float32" ? U32 : U64;
}

/** The relative bound a forward result is checked to (see the comments in reference.ts). */
function lossRel(c: Case, m: Materialised): number {
  const dtype = promote(m.input.dtype, m.target.dtype, ...(m.weight ? [m.weight.dtype] : []));
  const reduction = effectiveReduction(c.options);
  // (a - b), its square, the weight: three roundings per element
  if (reduction === "none") return 4 * unit(dtype);
  // sum(w l) / sum(w): two sums, each within the bound
  if (reduction === "mean" && m.weight) return 2 * sumBound(dtype);
  return sumBound(dtype);
}

/** Elementwise ((a - b) * norm) * g * w with up to six roundings; sums back and weight sums add the sum bound. */
function gradRel(c: Case, m: Materialised): number {
  const dtype = promote(m.input.dtype, m.target.dtype, ...(m.weight ? [m.weight.dtype] : []));
  const summedBack = !sameShape(m.input.shape, broadcastShapeOf(m));
  const weightedMean = effectiveReduction(c.options) === "mean" && m.weight !== undefined;
  return 8 * unit(dtype) + (summedBack || weightedMean ? sumBound(dtype) : 0);
}

function broadcastShapeOf(m: Materialised): number[] {
  const a = m.input.shape;
  const b = m.target.shape;
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const sa = a[i - (rank - a.length)] ?? 1;
    const sb = b[i - (rank - b.length)] ?? 1;
    out.push(sa === 1 ? sb : sa);
  }
  return out;
}

function checkValues(got: ArrayLike<number>, want: RefValue[], rel: number, dtype: DType, what: () => string): void {
  check(got.length === want.length, () => `${what()}: ${got.length} elements, expected ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    check(close(got[i]!, w, rel, dtype), () => `${what()}: element ${i} is ${got[i]}, reference ${w.value} (magnitude ${w.mag}, rel ${rel})`);
  }
}

function checkLoss(got: unknown, want: RefLoss, rel: number, what: () => string): void {
  if (want.kind === "number") {
    check(typeof got === "number", () => `${what()}: expected a number, got ${describeResult(got)}`);
    check(close(got as number, want, rel, "float64"), () => `${what()}: got ${String(got)}, reference ${want.value} (rel ${rel})`);
    return;
  }
  check(isOutTensor(got), () => `${what()}: expected a Tensor, got ${describeResult(got)}`);
  const t = got as { data: Float32Array | Float64Array; shape: number[] };
  check(dtypeOf(t) === want.dtype, () => `${what()}: dtype ${dtypeOf(t)}, expected ${want.dtype}`);
  check(sameShape(t.shape, want.shape), () => `${what()}: shape ${formatShape(t.shape)}, expected ${formatShape(want.shape)}`);
  checkValues(t.data, want.values, rel, want.dtype, what);
}

function checkGrad(got: unknown, c: Case, m: Materialised, what: () => string): void {
  const want = refGrad(m.input, m.target, c.options, m.weight, m.gradOutput);
  check(isOutTensor(got), () => `${what()}: expected a Tensor, got ${describeResult(got)}`);
  const t = got as { data: Float32Array | Float64Array; shape: number[] };
  check(dtypeOf(t) === m.input.dtype, () => `${what()}: dtype ${dtypeOf(t)}, expected input's ${m.input.dtype}`);
  check(sameShape(t.shape, m.input.shape), () => `${what()}: shape ${formatShape(t.shape)}, expected input's ${formatShape(m.input.shape)}`);
  checkValues(t.data, want.values, gradRel(c, m), m.input.dtype, what);
}

const SIZE_WARNING = "Using a target size";

function sizeWarningsSince(from: number): string[] {
  return log.messages.slice(from).filter((s) => s.includes(SIZE_WARNING));
}

function everWarned(pred: (s: string) => boolean): boolean {
  return log.messages.some(pred);
}

/** The warnings API.md asks for, each at least once per process (they are deduplicated). */
function checkWarnings(c: Case, m: Materialised, from: number): void {
  const differ = !sameShape(m.input.shape, m.target.shape);
  if (differ && c.options.broadcast !== true) {
    const t = formatShape(m.target.shape);
    const i = formatShape(m.input.shape);
    check(
      everWarned((s) => s.includes(SIZE_WARNING) && s.includes(t) && s.includes(i) && s.indexOf(t) < s.lastIndexOf(i)),
      () => `no "${SIZE_WARNING} (${t}) that is different to the input size (${i})" warning was ever emitted`,
    );
  } else {
    check(sizeWarningsSince(from).length === 0, () => `unexpected size warning: ${sizeWarningsSince(from).join(" | ")}`);
  }
  if (c.options.sizeAverage !== undefined || c.options.reduce !== undefined) {
    const r = effectiveReduction(c.options);
    check(
      everWarned((s) => /size_?average/i.test(s) && s.includes("deprecated") && s.includes(r)),
      () => `no legacy-argument deprecation warning naming reduction "${r}" was ever emitted`,
    );
  } else if (c.options.reduction === "elementwise_mean") {
    check(
      everWarned((s) => s.includes("elementwise_mean") && s.includes("deprecated")),
      () => "no elementwise_mean deprecation warning was ever emitted",
    );
  }
}

function checkHeap(what: () => string): void {
  const now = lib.heapStats().allocatedBytes;
  check(now === baseline, () => `${what()}: allocatedBytes ${now}, baseline ${baseline}`);
}

/** One differential case: forward, backward, fused, module API; inputs untouched; no leak. */
function runDifferential(c: Case): void {
  const m = materialise(c);
  const a = argsFor(lib, c, m);
  const label = (fn: string) => () => `${fn}: ${describeCase(c)}`;
  try {
    const from = log.messages.length;
    const want = refLoss(m.input, m.target, c.options, m.weight);
    const loss = lib.mseLoss(a.input.arg as never, a.target.arg as never, libOptions(c, a, false) as never);
    checkLoss(loss, want, lossRel(c, m), label("mseLoss"));
    checkWarnings(c, m, from);
    check(a.unchanged(), label("mseLoss modified an input"));

    const grad = lib.mseLossBackward(a.input.arg as never, a.target.arg as never, libOptions(c, a, true) as never);
    checkGrad(grad, c, m, label("mseLossBackward"));
    check(a.unchanged(), label("mseLossBackward modified an input"));

    const fused = lib.mseLossWithGrad(a.input.arg as never, a.target.arg as never, libOptions(c, a, true) as never);
    checkLoss(fused.loss, want, lossRel(c, m), label("mseLossWithGrad loss"));
    checkGrad(fused.grad, c, m, label("mseLossWithGrad grad"));
    check(sameResult(fused.loss, loss), () => `${label("mseLossWithGrad")()}: loss ${describeResult(fused.loss)} differs from mseLoss ${describeResult(loss)}`);
    check(sameResult(fused.grad, grad), () => `${label("mseLossWithGrad")()}: grad ${describeResult(fused.grad)} differs from mseLossBackward ${describeResult(grad)}`);
    check(a.unchanged(), label("mseLossWithGrad modified an input"));

    // `out`: the same bits, written into the caller's typed array or WasmTensor.
    const g0 = grad as { data: Float32Array | Float64Array; shape: number[] };
    const arrayOut = g0.data instanceof Float32Array ? new Float32Array(g0.data.length) : new Float64Array(g0.data.length);
    arrayOut.fill(7);
    const viaArray = lib.mseLossBackward(a.input.arg as never, a.target.arg as never, { ...libOptions(c, a, true), out: arrayOut } as never);
    check(viaArray.data === arrayOut && sameResult(viaArray, grad), () => `${label("mseLossBackward, out: array")()}: ${describeResult(viaArray)} differs from ${describeResult(grad)}`);
    const tensorOut = lib.alloc(g0.data instanceof Float32Array ? "float32" : "float64", g0.shape);
    try {
      const viaTensor = lib.mseLossWithGrad(a.input.arg as never, a.target.arg as never, { ...libOptions(c, a, true), out: tensorOut } as never);
      check(viaTensor.grad.data === tensorOut.view && sameResult(viaTensor, fused), () => `${label("mseLossWithGrad, out: WasmTensor")()}: differs from no out`);
    } finally {
      tensorOut.dispose();
    }
    check(a.unchanged(), label("a call with out modified an input"));
    // mseLoss's `out`: a Tensor result written into it with the same bits; a number result refuses it.
    if (typeof loss === "number") {
      const refused = (() => {
        try {
          lib.mseLoss(a.input.arg as never, a.target.arg as never, { ...libOptions(c, a, false), out: new Float64Array(1) } as never);
          return null;
        } catch (e) {
          return e;
        }
      })();
      check(refused instanceof TypeError && /argument 'out' is for a Tensor result/.test(refused.message), () => `${label("mseLoss, out with a number result")()}: ${String(refused)}`);
    } else {
      const l0 = loss as { data: Float32Array | Float64Array; shape: number[] };
      const lossArray = l0.data instanceof Float32Array ? new Float32Array(l0.data.length) : new Float64Array(l0.data.length);
      lossArray.fill(7);
      const viaLossArray = lib.mseLoss(a.input.arg as never, a.target.arg as never, { ...libOptions(c, a, false), out: lossArray } as never) as typeof l0;
      check(viaLossArray.data === lossArray && sameResult(viaLossArray, loss), () => `${label("mseLoss, out: array")()}: ${describeResult(viaLossArray)} differs from ${describeResult(loss)}`);
      const lossTensor = lib.alloc(l0.data instanceof Float32Array ? "float32" : "float64", l0.shape);
      try {
        const viaLossTensor = lib.mseLoss(a.input.arg as never, a.target.arg as never, { ...libOptions(c, a, false), out: lossTensor } as never) as typeof l0;
        check(viaLossTensor.data === lossTensor.view && sameResult(viaLossTensor, loss), () => `${label("mseLoss, out: WasmTensor")()}: differs from no out`);
      } finally {
        lossTensor.dispose();
      }
    }
    check(a.unchanged(), label("mseLoss with out modified an input"));

    const criterion = new lib.MSELoss(libOptions(c, a, false) as never);
    const forward = criterion.forward(a.input.arg as never, a.target.arg as never);
    check(sameResult(forward, loss), () => `${label("MSELoss.forward")()}: ${describeResult(forward)} differs from mseLoss ${describeResult(loss)}`);
    const g = a.gradOutput === undefined ? undefined : typeof a.gradOutput === "number" ? a.gradOutput : a.gradOutput.arg;
    const backward = criterion.backward(a.input.arg as never, a.target.arg as never, g as never);
    check(sameResult(backward, grad), () => `${label("MSELoss.backward")()}: ${describeResult(backward)} differs from mseLossBackward ${describeResult(grad)}`);
    check(a.unchanged(), label("MSELoss modified an input"));
  } finally {
    a.dispose();
  }
  checkHeap(label("after the case"));
}

describe("differential: the library equals the float64 reference", () => {
  it(`mseLoss, mseLossBackward, mseLossWithGrad, MSELoss on ${runs(1)} random cases`, () => {
    fc.assert(fc.property(caseArb, (c) => runDifferential(c)), params(1));
  });

  it("the generator reaches every corner it is meant to", () => {
    // Guard against a generator that silently stopped producing some kind of case.
    const seen = new Set<string>();
    fc.assert(
      fc.property(caseArb, (c) => {
        const m = materialise(c);
        const r = effectiveReduction(c.options);
        seen.add(`reduction:${r}`);
        seen.add(`rank:${Math.min(broadcastShapeOf(m).length, 6)}`);
        if (!sameShape(m.input.shape, m.target.shape)) seen.add("broadcast");
        if (c.options.axis !== undefined) seen.add("axis");
        if (c.options.keepdims) seen.add("keepdims");
        if (m.weight) seen.add("weight");
        if (typeof c.gradOutput === "object") seen.add("gradOutput tensor");
        if (c.options.sizeAverage !== undefined || c.options.reduce !== undefined) seen.add("legacy");
        if (m.input.dtype !== m.target.dtype) seen.add("mixed");
        if (broadcastShapeOf(m).includes(0)) seen.add("empty");
        for (const f of formsFor(m.input)) seen.add(`form:${f}`);
      }),
      { seed: SEED, numRuns: 500 },
    );
    for (const k of ["reduction:mean", "reduction:sum", "reduction:none", "rank:0", "rank:6", "broadcast", "axis", "keepdims", "weight", "gradOutput tensor", "legacy", "mixed", "empty"]) {
      expect(seen, k).toContain(k);
    }
  });
});

// ---------------------------------------------------------------------------
// Errors

const incompatibleArb = fc
  .record({
    base: baseShapeArb.filter((s) => s.length > 0),
    at: fc.nat({ max: 5 }),
    sizes: fc.constantFrom<[number, number]>([2, 3], [3, 2], [0, 2], [4, 0], [2, 5], [7, 4], [3, 9]),
    dropIn: fc.nat({ max: 2 }),
    dropTgt: fc.nat({ max: 2 }),
    dtypes: fc.constantFrom<[DType, DType]>(["float32", "float32"], ["float64", "float64"], ["float32", "float64"]),
    reduction: fc.constantFrom("mean", "sum", "none"),
    broadcast: fc.constantFrom(undefined, true, false),
    seeds: fc.array(fc.integer(), { minLength: 2, maxLength: 2 }),
    forms: fc.array(fc.nat({ max: 20 }), { minLength: 2, maxLength: 2 }),
  })
  .map((r) => {
    const k = r.at % r.base.length;
    const a = r.base.slice();
    const b = r.base.slice();
    a[k] = r.sizes[0];
    b[k] = r.sizes[1];
    // dropping leading dims before k keeps the conflict
    const inShape = a.slice(Math.min(r.dropIn, k));
    const tgtShape = b.slice(Math.min(r.dropTgt, k));
    const options: RefOptions = { reduction: r.reduction };
    if (r.broadcast !== undefined) options.broadcast = r.broadcast;
    const c: Case = {
      input: { shape: inShape, dtype: r.dtypes[0], style: 2, seed: r.seeds[0]!, form: r.forms[0]! },
      target: { shape: tgtShape, dtype: r.dtypes[1], style: 1, seed: r.seeds[1]!, form: r.forms[1]! },
      options,
    };
    return c;
  });

function expectThrows(fn: () => unknown, cls: new (...args: never[]) => Error, text: string | RegExp | null, what: () => string): Error {
  let thrown: unknown;
  try {
    const r = fn();
    thrown = undefined;
    check(false, () => `${what()}: did not throw, returned ${describeResult(r)}`);
  } catch (e) {
    if (e instanceof CheckFailure) throw e;
    thrown = e;
  }
  check(thrown instanceof cls, () => `${what()}: threw ${String(thrown)}, expected a ${cls.name}`);
  const message = (thrown as Error).message;
  if (typeof text === "string") check(message.includes(text), () => `${what()}: message "${message}" lacks "${text}"`);
  else if (text) check(text.test(message), () => `${what()}: message "${message}" does not match ${String(text)}`);
  return thrown as Error;
}

/** The seed's 3x3 example: the next valid call after a failure must still be right. */
function checkStillWorks(what: () => string): void {
  const input = [
    [1, 2, 3],
    [4, 5, 6],
    [7, 8, 9],
  ];
  const target = [
    [1, 4, 6],
    [2, 5, 3],
    [4, 7, 8],
  ];
  const sum = lib.mseLoss(input, target, { reduction: "sum" });
  check(sum === 37, () => `${what()}: the next valid call gave ${String(sum)}, expected 37`);
  checkHeap(what);
}

describe("errors: incompatible shapes and bad options", () => {
  it(`incompatible shapes throw ShapeError in PyTorch's words (${runs(0.3)} cases)`, () => {
    fc.assert(
      fc.property(incompatibleArb, (c) => {
        const m = materialise(c);
        const expected = broadcastMismatch(m.input.shape, m.target.shape);
        check(expected !== null, () => `generator: ${describeCase(c)} is compatible`);
        const text = c.options.broadcast === false ? null : expected;
        const a = argsFor(lib, c, m);
        const label = (fn: string) => () => `${fn}: ${describeCase(c)}`;
        try {
          const from = log.messages.length;
          const e = expectThrows(() => lib.mseLoss(a.input.arg as never, a.target.arg as never, c.options as never), lib.ShapeError, text, label("mseLoss"));
          check(e instanceof RangeError, label("ShapeError is not a RangeError"));
          if (c.options.broadcast !== true) {
            checkWarnings(c, m, from);
          } else {
            check(sizeWarningsSince(from).length === 0, label("broadcast: true still warned"));
          }
          expectThrows(() => lib.mseLossBackward(a.input.arg as never, a.target.arg as never, c.options as never), lib.ShapeError, text, label("mseLossBackward"));
          expectThrows(() => lib.mseLossWithGrad(a.input.arg as never, a.target.arg as never, c.options as never), lib.ShapeError, text, label("mseLossWithGrad"));
          expectThrows(() => new lib.MSELoss(c.options as never).forward(a.input.arg as never, a.target.arg as never), lib.ShapeError, text, label("MSELoss.forward"));
          if (c.options.broadcast === undefined) {
            const metric = new lib.MeanSquaredError();
            expectThrows(() => metric.update(a.input.arg as never, a.target.arg as never), lib.ShapeError, text, label("MeanSquaredError.update"));
            check(Number.isNaN(metric.compute()), label("a failed update changed the metric"));
          }
          check(a.unchanged(), label("a failed call modified an input"));
        } finally {
          a.dispose();
        }
        checkStillWorks(label("after the ShapeError"));
      }),
      params(0.3),
    );
  });

  const validReductions = new Set(["mean", "sum", "none", "elementwise_mean"]);
  it("an unknown reduction is a RangeError quoting it, from mseLoss and from the MSELoss constructor", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z_]{1,12}$/).filter((s) => !validReductions.has(s)),
        (r) => {
          const text = `"${r}" is not a valid value for reduction`;
          expectThrows(() => lib.mseLoss([1, 2], [2, 3], { reduction: r } as never), RangeError, text, () => `mseLoss reduction ${r}`);
          expectThrows(() => lib.mseLossBackward([1, 2], [2, 3], { reduction: r } as never), RangeError, text, () => `mseLossBackward reduction ${r}`);
          expectThrows(() => new lib.MSELoss({ reduction: r } as never), RangeError, text, () => `new MSELoss reduction ${r}`);
          checkStillWorks(() => `after reduction ${r}`);
        },
      ),
      params(0.05),
    );
  });

  const axisErrorArb = fc
    .record({
      base: baseShapeArb.filter((s) => s.length > 0),
      kind: fc.constantFrom("range", "duplicate", "none", "fraction"),
      pick: fc.integer({ min: 0, max: 5 }),
      over: fc.integer({ min: 0, max: 3 }),
      reduction: fc.constantFrom("mean", "sum"),
      seeds: fc.array(fc.integer(), { minLength: 2, maxLength: 2 }),
    })
    .map((r) => {
      const rank = r.base.length;
      const k = r.pick % rank;
      let axis: number | number[];
      let reduction: string = r.reduction;
      switch (r.kind) {
        case "range":
          axis = r.over % 2 ? rank + (r.over >> 1) : -rank - 1 - (r.over >> 1);
          break;
        case "duplicate":
          axis = [k, k - rank];
          break;
        case "none":
          axis = k;
          reduction = "none";
          break;
        default:
          axis = k + 0.5;
      }
      return { base: r.base, axis, reduction, seeds: r.seeds };
    });

  it(`a bad axis is a RangeError naming axis (${runs(0.1)} cases)`, () => {
    fc.assert(
      fc.property(axisErrorArb, (r) => {
        const x: RefArray = operand({ shape: r.base, dtype: "float64", style: 0, seed: r.seeds[0]!, form: 0 });
        const y: RefArray = operand({ shape: r.base, dtype: "float64", style: 1, seed: r.seeds[1]!, form: 0 });
        const what = () => `axis ${JSON.stringify(r.axis)} on ${formatShape(r.base)} with reduction ${r.reduction}`;
        const options = { reduction: r.reduction, axis: r.axis };
        const xi = { data: x.values, shape: x.shape };
        const yi = { data: y.values, shape: y.shape };
        expectThrows(() => lib.mseLoss(xi, yi, options as never), RangeError, /axis/, what);
        expectThrows(() => lib.mseLossBackward(xi, yi, options as never), RangeError, /axis/, what);
        expectThrows(() => new lib.MSELoss(options as never).forward(xi, yi), RangeError, /axis/, what);
        checkStillWorks(what);
      }),
      params(0.1),
    );
  });

  it(`a weight that would expand the loss shape is a ShapeError (${runs(0.1)} cases)`, () => {
    fc.assert(
      fc.property(
        baseShapeArb,
        fc.constantFrom("lead", "dim"),
        fc.nat({ max: 5 }),
        fc.constantFrom("mean", "sum", "none"),
        fc.integer(),
        (base, how, pick, reduction, seed) => {
          let wShape: number[];
          if (how === "lead" || base.length === 0) wShape = [2, ...base];
          else {
            const k = pick % base.length;
            wShape = base.slice();
            wShape[k] = base[k] === 3 ? 4 : 3;
          }
          const x = operand({ shape: base, dtype: "float32", style: 0, seed, form: 0 });
          const w = operand({ shape: wShape, dtype: "float32", style: 0, seed: seed + 1, form: 0 }, true);
          const what = () => `weight ${formatShape(wShape)} on loss shape ${formatShape(base)}`;
          const xi = { data: Float32Array.from(x.values), shape: base };
          const options = { reduction, weight: { data: Float32Array.from(w.values), shape: wShape } };
          expectThrows(() => lib.mseLoss(xi, xi, options as never), lib.ShapeError, null, what);
          expectThrows(() => lib.mseLossBackward(xi, xi, options as never), lib.ShapeError, null, what);
          expectThrows(() => lib.mseLossWithGrad(xi, xi, options as never), lib.ShapeError, null, what);
          checkStillWorks(what);
        },
      ),
      params(0.1),
    );
  });

  it(`a gradOutput that does not broadcast to the loss shape is a ShapeError (${runs(0.05)} cases)`, () => {
    fc.assert(
      fc.property(baseShapeArb.filter((s) => s.length > 0 && !s.includes(0)), fc.nat({ max: 5 }), fc.integer(), (base, pick, seed) => {
        const k = pick % base.length;
        const gShape = base.slice();
        gShape[k] = base[k] === 3 ? 4 : 3;
        const x = operand({ shape: base, dtype: "float64", style: 0, seed, form: 0 });
        const g = operand({ shape: gShape, dtype: "float64", style: 0, seed: seed + 1, form: 0 });
        const what = () => `gradOutput ${formatShape(gShape)} for loss shape ${formatShape(base)}`;
        const xi = { data: x.values, shape: base };
        expectThrows(
          () => lib.mseLossBackward(xi, xi, { reduction: "none", gradOutput: { data: g.values, shape: gShape } } as never),
          lib.ShapeError,
          null,
          what,
        );
        checkStillWorks(what);
      }),
      params(0.05),
    );
  });
});

// ---------------------------------------------------------------------------
// Streaming metric: any split of any batches equals the reference over everything

const pairArb = fc
  .record({
    base: baseShapeArb,
    inKeep: fc.nat({ max: 2 }),
    inOnes: fc.nat({ max: 63 }),
    dtype: fc.constantFrom<DType>("float32", "float64"),
    style: fc.nat({ max: 3 }),
    seeds: fc.array(fc.integer(), { minLength: 2, maxLength: 2 }),
    forms: fc.array(fc.nat({ max: 20 }), { minLength: 2, maxLength: 2 }),
  })
  .map((r) => ({
    pred: { shape: derive(r.base, r.base.length - r.inKeep, r.inOnes), dtype: r.dtype, style: r.style, seed: r.seeds[0]!, form: r.forms[0]! },
    target: { shape: r.base, dtype: r.dtype, style: r.style, seed: r.seeds[1]!, form: r.forms[1]! },
  }));

describe("streaming metric", () => {
  it(`MeanSquaredError over any split equals the reference (${runs(0.15)} cases)`, () => {
    fc.assert(
      fc.property(fc.array(pairArb, { minLength: 1, maxLength: 5 }), fc.nat(), fc.boolean(), (pairs, splitAt, squared) => {
        const ops = pairs.map((p) => [operand(p.pred), operand(p.target)] as [RefArray, RefArray]);
        const want = refMetric(ops, squared);
        const all = new lib.MeanSquaredError({ squared });
        const left = new lib.MeanSquaredError({ squared });
        const right = new lib.MeanSquaredError({ squared });
        const split = splitAt % (ops.length + 1);
        const built = ops.map(([p, t], i) => [build(lib, p, formsFor(p)[pairs[i]!.pred.form % formsFor(p).length]!), build(lib, t, formsFor(t)[pairs[i]!.target.form % formsFor(t).length]!)] as const);
        try {
          built.forEach(([p, t], i) => {
            all.update(p.arg as never, t.arg as never);
            (i < split ? left : right).update(p.arg as never, t.arg as never);
          });
        } finally {
          for (const [p, t] of built) {
            p.dispose();
            t.dispose();
          }
        }
        // any all-float32 update is float32 math: its sum carries the float32 bound
        const dtype: DType = ops.some(([p, t]) => p.dtype === "float32" && t.dtype === "float32") ? "float32" : "float64";
        const what = () => `metric over ${pairs.map((p) => `${formatShape(p.pred.shape)}/${formatShape(p.target.shape)}`).join(", ")} split at ${split}`;
        check(close(all.compute(), want, sumBound(dtype), "float64"), () => `${what()}: compute ${all.compute()}, reference ${want.value}`);
        const merged = left.merge(right);
        check(merged === left, () => `${what()}: merge did not return this`);
        check(close(merged.compute(), want, sumBound(dtype), "float64"), () => `${what()}: merged ${merged.compute()}, reference ${want.value}`);
        const revived = lib.MeanSquaredError.fromState(JSON.parse(JSON.stringify(all.state)), { squared });
        check(Object.is(revived.compute(), all.compute()), () => `${what()}: fromState(JSON) computes ${revived.compute()}, original ${all.compute()}`);
        all.reset();
        check(Number.isNaN(all.compute()), () => `${what()}: compute after reset is ${all.compute()}`);
        checkHeap(what);
      }),
      params(0.15),
    );
  });
});

// ---------------------------------------------------------------------------
// SIMD and scalar builds: bit for bit

/**
 * Two independent instances, one per build: fresh module instances in Node, Web Workers in
 * a browser (where the module cache cannot be reset).
 */
async function twoBuilds(): Promise<[Instance, Instance]> {
  const simd = await freshInstance();
  await simd.init();
  const scalar = await freshInstance();
  await scalar.init({ simd: false });
  return [simd, scalar];
}

describe("SIMD and scalar builds agree bit for bit", () => {
  it(`every API on ${runs(0.5)} random cases, two independent instances`, async () => {
    const [simd, scalar] = await twoBuilds();
    try {
      expect(await simd.backend()).toBe("simd");
      expect(await scalar.backend()).toBe("scalar");
      const cases = fc.sample(caseArb, { seed: SEED + 7, numRuns: runs(0.5) });
      const [x, y] = await Promise.all([simd.property(cases), scalar.property(cases)]);
      const differing: string[] = [];
      cases.forEach((c, k) => {
        for (let i = 0; i < x[k]!.length; i++) {
          if (!sameResult(x[k]![i], y[k]![i])) {
            differing.push(`call ${i} of ${describeCase(c)}: simd ${describeResult(x[k]![i])}, scalar ${describeResult(y[k]![i])}`);
          }
        }
      });
      expect(differing.slice(0, 5)).toEqual([]);
    } finally {
      simd.close();
      scalar.close();
    }
  });
});
