// The module API (MSELoss) equals the functional one; MeanSquaredError (torchmetrics
// style) against scikit-learn's mean_squared_error (test/fixtures/metric.json), its
// merge/reset/state/fromState, and the batch-split property against an exact BigInt
// reference; mseLossWithGrad bit-identical to mseLoss + mseLossBackward.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  init,
  MeanSquaredError,
  MSELoss,
  mseLoss,
  mseLossBackward,
  mseLossWithGrad,
  ShapeError,
} from "../ts/index.js";
import forwardJson from "./fixtures/forward.json";
import metricJson from "./fixtures/metric.json";
import { exactSumSquaredDiff, toNumber } from "./helpers/exact.js";
import {
  asNumber,
  expectClose,
  identical,
  num,
  rtolFor,
  tensor,
  type Decoded,
  type ForwardFixture,
  type MetricFixture,
} from "./helpers/fixtures.js";
import { captureWarnings, type WarningCapture } from "./helpers/warnings.js";

const forwardFx = forwardJson as unknown as ForwardFixture;
const metricFx = metricJson as unknown as MetricFixture;

type Options = NonNullable<Parameters<typeof mseLossBackward>[2]>;

let warnings: WarningCapture;
beforeAll(async () => {
  await init();
  warnings = captureWarnings();
});
afterAll(() => warnings.restore());

function fwd(name: string): { x: Decoded; y: Decoded } {
  const c = forwardFx.cases.find((k) => k.name === name);
  if (c === undefined) throw new Error(`fixture case ${name} missing`);
  return { x: tensor(c.input), y: tensor(c.target) };
}

const OPTION_SETS: Options[] = [
  {},
  { reduction: "sum" },
  { reduction: "none" },
  { reduction: "mean", axis: 0 },
  { reduction: "sum", axis: -1, keepdims: true },
  { reduction: "mean", keepdims: true },
  { reduction: "sum", weight: { data: new Float32Array([0.5, 2, 1.25, 1]), shape: [4] } },
  { reduction: "mean", weight: { data: [2, 0.5, 1], shape: [3, 1] } },
];

describe("MSELoss", () => {
  const cases = ["broadcast [3, 1] vs [1, 4] float32", "broadcast [3, 1] vs [1, 4] float64", "rank 2 [2, 3] float64"];

  it("forward and backward equal the functional API", () => {
    for (const name of cases) {
      const { x, y } = fwd(name);
      for (const opts of OPTION_SETS) {
        if (opts.weight !== undefined && name.startsWith("rank 2")) continue; // weight [4] fits [3, 4] only
        const what = `${name} ${JSON.stringify(opts)}`;
        const criterion = new MSELoss(opts);
        expect(identical(criterion.forward(x, y), mseLoss(x, y, opts)), `${what} forward`).toBe(true);
        expect(identical(criterion.backward(x, y), mseLossBackward(x, y, opts)), `${what} backward`).toBe(true);
        // the criterion is reusable and holds no state between calls
        expect(identical(criterion.forward(x, y), mseLoss(x, y, opts)), `${what} forward again`).toBe(true);
      }
    }
    warnings.take();
  });

  it("backward takes gradOutput", () => {
    const { x, y } = fwd("rank 2 [2, 3] float64");
    const g = { data: new Float64Array([1, -2, 0.5, 3, 0, -1]), shape: [2, 3] };
    const none = new MSELoss({ reduction: "none" });
    expect(identical(none.backward(x, y, g), mseLossBackward(x, y, { reduction: "none", gradOutput: g }))).toBe(true);
    expect(identical(none.backward(x, y, 0.25), mseLossBackward(x, y, { reduction: "none", gradOutput: 0.25 }))).toBe(true);
    const mean = new MSELoss();
    expect(identical(mean.backward(x, y, 3), mseLossBackward(x, y, { gradOutput: 3 }))).toBe(true);
    expect(identical(mean.backward(x, y), mseLossBackward(x, y))).toBe(true);
  });

  it("validates options when constructed", () => {
    const bad: Array<[unknown, ErrorConstructor, string]> = [
      [{ reduction: "avg" }, RangeError, "avg"],
      [{ reduction: "none", axis: 0 }, RangeError, "axis"],
      [{ axis: 0.5 }, RangeError, "0.5"],
      ["sum", TypeError, "sum"],
      [42, TypeError, "42"],
      [{ reduction: 1 }, RangeError, "1"],
      [{ sizeAverage: "yes" }, TypeError, "yes"],
      [{ weight: new Int32Array(3) }, TypeError, "Int32Array"],
      [{ weight: "w" }, TypeError, "w"],
    ];
    for (const [opts, cls, value] of bad) {
      let err: unknown;
      try {
        new MSELoss(opts as Options);
      } catch (e) {
        err = e;
      }
      expect(err, `new MSELoss(${JSON.stringify(opts)})`).toBeInstanceOf(cls);
      const msg = (err as Error).message;
      expect(msg, `new MSELoss(${JSON.stringify(opts)})`).toContain("MSELoss");
      expect(msg, `new MSELoss(${JSON.stringify(opts)})`).toContain(value);
    }
    expect(() => new MSELoss()).not.toThrow();
    expect(() => new MSELoss({})).not.toThrow();
  });
});

describe("mseLossWithGrad is bit-identical to mseLoss + mseLossBackward", () => {
  it("over forms, dtypes, reductions, axis, weights and gradOutput", () => {
    const names = ["len 129 float32", "len 255 float64", "broadcast [3, 1] vs [1, 4] float32", "broadcast [2, 1, 3] vs [4, 1] float64",
      "mixed [2, 3] float32 vs [3] float64", "nan in input float32", "empty [2, 0] vs [2, 0] float64", "rank 0 [] float32"];
    let checked = 0;
    for (const name of names) {
      const { x, y } = fwd(name);
      const rank = Math.max(x.shape.length, y.shape.length);
      const sets: Options[] = [{}, { reduction: "sum" }, { reduction: "none" }, { reduction: "none", gradOutput: -0.5 }, { gradOutput: 2 }];
      if (rank >= 1) sets.push({ axis: -1 }, { reduction: "sum", axis: 0, keepdims: true });
      for (const opts of sets) {
        const fused = mseLossWithGrad(x, y, opts);
        const { gradOutput: _g, ...lossOpts } = opts;
        expect(identical(fused.loss, mseLoss(x, y, lossOpts)), `${name} ${JSON.stringify(opts)} loss`).toBe(true);
        expect(identical(fused.grad, mseLossBackward(x, y, opts)), `${name} ${JSON.stringify(opts)} grad`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(40);
    warnings.take();
  });
});

// ------------------------------------------------------------------ MeanSquaredError

describe("MeanSquaredError vs sklearn.metrics.mean_squared_error", () => {
  it.each(metricFx.datasets.map((d) => [d.name, d] as const))("%s", (_name, d) => {
    const dtype = d.batches[0].pred.dtype;
    const mse = new MeanSquaredError();
    const rmse = new MeanSquaredError({ squared: false });
    expect(mse.compute()).toBeNaN();
    for (const b of d.batches) {
      mse.update(tensor(b.pred), tensor(b.target));
      rmse.update(tensor(b.pred), tensor(b.target));
    }
    const m = asNumber(mse.compute(), "compute");
    const r = asNumber(rmse.compute(), "rmse compute");
    expectClose(m, num(d.mse64), rtolFor(dtype), `${d.name} mse`);
    expectClose(r, num(d.rmse64), rtolFor(dtype), `${d.name} rmse`);
    expectClose(m, num(d.mse), dtype === "float32" ? 3e-6 : 1e-13, `${d.name} mse vs sklearn`);
    // equals mseLoss over the whole data to the accuracy bound
    const all = concat(d.batches.map((b) => tensor(b.pred)));
    const allT = concat(d.batches.map((b) => tensor(b.target)));
    expectClose(m, asNumber(mseLoss(all, allT), "mseLoss"), 2 * rtolFor(dtype), `${d.name} vs mseLoss`);
  });

  it("merge combines partial states and returns this", () => {
    const d = metricFx.datasets.find((k) => k.name === "1000 float64")!;
    const whole = new MeanSquaredError();
    const parts = d.batches.map(() => new MeanSquaredError());
    d.batches.forEach((b, i) => {
      whole.update(tensor(b.pred), tensor(b.target));
      parts[i].update(tensor(b.pred), tensor(b.target));
    });
    const merged = parts[0];
    for (const p of parts.slice(1)) expect(merged.merge(p)).toBe(merged);
    expectClose(asNumber(merged.compute(), "merged"), num(d.mse64), 1e-13, "merged");
    expectClose(asNumber(merged.compute(), "merged"), asNumber(whole.compute(), "whole"), 2e-13, "merged vs whole");
    // merging an empty metric changes nothing
    const before = merged.compute();
    merged.merge(new MeanSquaredError());
    expect(merged.compute()).toBe(before);
  });

  it("reset forgets everything", () => {
    const m = new MeanSquaredError();
    m.update([1, 2, 3], [1, 2, 5]);
    expect(m.compute()).toBeCloseTo(4 / 3, 15);
    m.reset();
    expect(m.compute()).toBeNaN();
    m.update([1], [3]);
    expect(m.compute()).toBe(4);
  });

  it("update follows mseLoss's shape rules: broadcasting, warnings and errors", () => {
    const m = new MeanSquaredError();
    const p = { data: new Float64Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] };
    const t = { data: new Float64Array([1, 1, 1]), shape: [3] };
    m.update(p, t); // adds 6 elements
    expect(m.compute()).toBe(asNumber(mseLoss(p, t), "mseLoss"));
    expect(() => m.update(p, { data: new Float64Array(4), shape: [4] })).toThrow(ShapeError);
    // a failed update adds nothing
    expect(m.compute()).toBe(asNumber(mseLoss(p, t), "mseLoss"));
    warnings.take();
  });

  it("state survives JSON, and fromState continues where it left off", () => {
    const d = metricFx.datasets.find((k) => k.name === "1000 float32")!;
    const m = new MeanSquaredError();
    m.update(tensor(d.batches[0].pred), tensor(d.batches[0].target));
    const json = JSON.stringify(m.state);
    const back = MeanSquaredError.fromState(JSON.parse(json) as never);
    expect(Object.is(back.compute(), m.compute())).toBe(true);
    expect(JSON.parse(JSON.stringify(back.state))).toEqual(JSON.parse(json));
    for (const b of d.batches.slice(1)) {
      m.update(tensor(b.pred), tensor(b.target));
      back.update(tensor(b.pred), tensor(b.target));
    }
    expect(Object.is(back.compute(), m.compute())).toBe(true);
    expectClose(asNumber(back.compute(), "compute"), num(d.mse64), 1e-6, "after fromState");
    // merged across "processes": states that went through JSON merge like live ones
    const a = MeanSquaredError.fromState(JSON.parse(JSON.stringify(m.state)) as never);
    const live = MeanSquaredError.fromState(m.state);
    expect(Object.is(a.merge(MeanSquaredError.fromState(JSON.parse(json) as never)).compute(),
      live.merge(MeanSquaredError.fromState(JSON.parse(json) as never)).compute())).toBe(true);
  });

  it('non-finite state is written as "NaN" / "Infinity" / "-Infinity" and read back', () => {
    const nan = new MeanSquaredError();
    nan.update([1, Number.NaN], [0, 0]);
    const nanJson = JSON.stringify(nan.state);
    expect(nanJson).toContain('"NaN"');
    expect(nanJson).not.toContain("null");
    expect(MeanSquaredError.fromState(JSON.parse(nanJson) as never).compute()).toBeNaN();

    const inf = new MeanSquaredError();
    inf.update([1e200, 0], [-1e200, 0]);
    expect(inf.compute()).toBe(Infinity);
    const infJson = JSON.stringify(inf.state);
    expect(infJson).toContain('"Infinity"');
    expect(infJson).not.toContain("null");
    expect(MeanSquaredError.fromState(JSON.parse(infJson) as never).compute()).toBe(Infinity);

    const negJson = infJson.replace('"Infinity"', '"-Infinity"');
    expect(MeanSquaredError.fromState(JSON.parse(negJson) as never).compute()).toBe(-Infinity);
  });

  it("RMSE is the square root of the MSE", () => {
    const mse = new MeanSquaredError({ squared: true });
    const rmse = new MeanSquaredError({ squared: false });
    mse.update([3, -0.5, 2, 7], [2.5, 0, 2, 8]);
    rmse.update([3, -0.5, 2, 7], [2.5, 0, 2, 8]);
    expect(mse.compute()).toBe(0.375);
    expect(rmse.compute()).toBe(Math.sqrt(0.375));
    expect(new MeanSquaredError({ squared: false }).compute()).toBeNaN();
  });
});

function concat(parts: Decoded[]): Decoded {
  const n = parts.reduce((s, p) => s + p.data.length, 0);
  const data = parts[0].data instanceof Float32Array ? new Float32Array(n) : new Float64Array(n);
  let off = 0;
  for (const p of parts) {
    data.set(p.data, off);
    off += p.data.length;
  }
  return { data, shape: [n] };
}

describe("MeanSquaredError: any batch split gives mseLoss over the whole", () => {
  // |v| >= 1e-6 or 0: float32 squares of differences then stay normal (float32 math
  // underflows below ~1e-19, where no relative bound can hold, in torch as here)
  const value = fc.double({ min: -1e3, max: 1e3, noNaN: true }).map((v) => (Math.abs(v) < 1e-6 ? 0 : v));
  const dataArb = fc.record({
    dtype: fc.constantFrom("float32" as const, "float64" as const),
    values: fc.array(fc.tuple(value, value), { minLength: 1, maxLength: 2000 }),
    cuts: fc.array(fc.nat(), { maxLength: 12 }),
  });

  it("compute() is within the accuracy bound of the exact value, whatever the split", () => {
    fc.assert(
      fc.property(dataArb, ({ dtype, values, cuts }) => {
        const Arr = dtype === "float32" ? Float32Array : Float64Array;
        const p = Arr.from(values.map((v) => v[0]));
        const t = Arr.from(values.map((v) => v[1]));
        const n = p.length;
        const points = [...new Set(cuts.map((c) => c % (n + 1)))].sort((a, b) => a - b);
        const bounds = [0, ...points, n];
        const m = new MeanSquaredError();
        for (let i = 0; i + 1 < bounds.length; i++) {
          const a = bounds[i];
          const b = bounds[i + 1];
          m.update(p.subarray(a, b), t.subarray(a, b)); // empty batches included
        }
        const exact = toNumber(exactSumSquaredDiff(p, t)) / n;
        const got = m.compute();
        const whole = mseLoss(p, t) as number;
        const tol = rtolFor(dtype) * exact;
        return Math.abs(got - exact) <= tol && Math.abs(whole - exact) <= tol;
      }),
      { numRuns: 60, seed: 20240606 },
    );
  });
});
