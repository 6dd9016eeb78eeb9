// axis/keepdims reductions against NumPy (np.mean/np.sum(np.square(y_true - y_pred),
// axis=..., keepdims=...)) with gradients from torch autograd (test/fixtures/axis.json),
// and elementwise weights against the API's formula evaluated in torch
// (test/fixtures/weights.json): none = w*l, sum = sum(w*l), mean = sum(w*l)/sum(w).
import { beforeAll, describe, expect, it } from "vitest";
import { init, mseLoss, mseLossBackward, mseLossWithGrad } from "../ts/index.js";
import axisJson from "./fixtures/axis.json";
import weightsJson from "./fixtures/weights.json";
import {
  arrayClass,
  asNumber,
  asTensor,
  expectTensorMatches,
  expectTensorNear,
  gradOptionsOf,
  gradOutputArg,
  identical,
  isFxTensor,
  num,
  rtolFor,
  tensor,
  type AxisCase,
  type AxisFixture,
  type FxScalar,
  type GradEntry,
  type WeightsFixture,
} from "./helpers/fixtures.js";
import { silenceWarningsInSuite } from "./helpers/warnings.js";

const axisFx = axisJson as unknown as AxisFixture;
const weightsFx = weightsJson as unknown as WeightsFixture;

type Options = NonNullable<Parameters<typeof mseLossBackward>[2]>;

beforeAll(async () => {
  await init();
});
silenceWarningsInSuite();

function expectScalarNear(got: unknown, want: FxScalar, scale: number | undefined, what: string): void {
  const value = asNumber(got, what);
  const torchValue = num(want.value);
  const ref = num(want.value64);
  if (!Number.isFinite(torchValue) || !Number.isFinite(ref)) {
    expect(Object.is(value, torchValue) || (Number.isNaN(value) && Number.isNaN(torchValue)), `${what}: got ${value}, want ${torchValue}`).toBe(true);
    return;
  }
  const bound = rtolFor(want.dtype) * (scale ?? Math.abs(ref));
  expect(Math.abs(value - ref) <= bound, `${what}: got ${value}, want ${ref} (bound ${bound})`).toBe(true);
}

// ------------------------------------------------------------------ axis

function axisOptions(c: AxisCase): Options {
  const o: Options = { reduction: c.reduction, keepdims: c.keepdims };
  if (c.axis !== null) o.axis = c.axis;
  return o;
}

describe("axis / keepdims vs NumPy and torch autograd", () => {
  it.each(axisFx.cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const x = tensor(c.input);
    const y = tensor(c.target);
    const opts = axisOptions(c);
    const loss = mseLoss(x, y, opts);
    if (isFxTensor(c.result)) {
      const t = asTensor(loss, c.name);
      expect(t.data).toBeInstanceOf(arrayClass(c.result.dtype));
      expectTensorNear(t, c.result, c.result64, undefined, rtolFor(c.result.dtype), `${c.name} loss`);
    } else {
      expectScalarNear(loss, c.result, undefined, `${c.name} loss`);
    }
    const g = gradOutputArg(c.gradOutput);
    const bOpts: Options = g === undefined ? opts : { ...opts, gradOutput: g };
    const grad = asTensor(mseLossBackward(x, y, bOpts), `${c.name} grad`);
    expect(grad.shape).toEqual(c.input.shape);
    expectTensorNear(grad, c.grad, c.grad64, c.scale64, rtolFor(c.grad.dtype), `${c.name} grad`);
    const fused = mseLossWithGrad(x, y, bOpts);
    expect(identical(fused.loss, loss), `${c.name}: fused loss`).toBe(true);
    expect(identical(fused.grad, grad), `${c.name}: fused grad`).toBe(true);
  });

  it("the seed: np.mean(np.square(y_true - y_pred), axis=0) from nested number[]", () => {
    const c = axisFx.cases.find((k) => k.name === "seed 3x3 axis 0")!;
    const yPred = [
      [1, 2, 3],
      [2, 1, 3],
      [3, 1, 2],
    ];
    const yTrue = [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ];
    const t = asTensor(mseLoss(yPred, yTrue, { axis: 0 }), "axis 0");
    expect(t.shape).toEqual([3]);
    expect(t.data).toBeInstanceOf(Float64Array);
    expectTensorMatches(t, c.result as never, 0, "seed axis 0");
    expect(Array.from(t.data)).toEqual([13 / 3, 5 / 3, 19 / 3]);
  });

  it("axis [] reduces nothing; keepdims without axis keeps every axis as size 1", () => {
    const x = { data: new Float64Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] };
    const y = { data: new Float64Array([0, 0, 1, 1, 2, 2]), shape: [2, 3] };
    for (const reduction of ["mean", "sum"] as const) {
      const t = asTensor(mseLoss(x, y, { reduction, axis: [] }), "axis []");
      expect(identical(t, mseLoss(x, y, { reduction: "none" }))).toBe(true);
      const k = asTensor(mseLoss(x, y, { reduction, keepdims: true }), "keepdims");
      expect(k.shape).toEqual([1, 1]);
      expect(k.data[0]).toBe(mseLoss(x, y, { reduction }));
      // every axis reduced without keepdims gives a number
      expect(mseLoss(x, y, { reduction, axis: [0, 1] })).toBe(mseLoss(x, y, { reduction }));
      expect(mseLoss(x, y, { reduction, axis: [-1, 0] })).toBe(mseLoss(x, y, { reduction }));
    }
  });
});

// ------------------------------------------------------------------ weights

function weightOptions(e: GradEntry, weight: unknown): Options {
  return { ...gradOptionsOf(e), weight: weight as Options["weight"] };
}

describe("weights vs the formula in torch", () => {
  it.each(weightsFx.cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const x = tensor(c.input);
    const y = tensor(c.target);
    const w = tensor(c.weight);
    for (const e of c.grads) {
      const what = `${c.name} ${e.reduction}`;
      const opts = weightOptions(e, w);
      const { gradOutput: _g, ...lossOpts } = opts;
      const loss = mseLoss(x, y, lossOpts);
      if (e.reduction === "none") {
        const t = asTensor(loss, what);
        const want = e.loss as never as Parameters<typeof expectTensorMatches>[1];
        expect(t.data).toBeInstanceOf(arrayClass(want.dtype));
        // (x - y)^2 * w: the same two roundings as torch
        expectTensorMatches(t, want, 0, `${what} loss`);
      } else {
        const scale = e.lossScale64 === undefined ? undefined : num(e.lossScale64);
        expectScalarNear(loss, e.loss as FxScalar, scale, `${what} loss`);
      }
      const grad = asTensor(mseLossBackward(x, y, opts), `${what} grad`);
      expect(grad.shape).toEqual(c.input.shape);
      expect(grad.data).toBeInstanceOf(arrayClass(c.input.dtype));
      expectTensorNear(grad, e.grad, e.grad64, e.scale64, rtolFor(e.grad.dtype), `${what} grad`);
      const fused = mseLossWithGrad(x, y, opts);
      expect(identical(fused.loss, loss), `${what}: fused loss`).toBe(true);
      expect(identical(fused.grad, grad), `${what}: fused grad`).toBe(true);
    }
  });

  it.each(weightsFx.axisCases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const x = tensor(c.input);
    const y = tensor(c.target);
    const w = tensor(c.weight);
    const opts: Options = { reduction: c.reduction, axis: c.axis, keepdims: c.keepdims, weight: w };
    const loss = asTensor(mseLoss(x, y, opts), c.name);
    expect(loss.data).toBeInstanceOf(arrayClass(c.result.dtype));
    expectTensorNear(loss, c.result, c.result64, undefined, rtolFor(c.result.dtype), `${c.name} loss`);
    const bOpts: Options = { ...opts, gradOutput: tensor(c.gradOutput) };
    const grad = asTensor(mseLossBackward(x, y, bOpts), `${c.name} grad`);
    expectTensorNear(grad, c.grad, c.grad64, c.scale64, rtolFor(c.grad.dtype), `${c.name} grad`);
    const fused = mseLossWithGrad(x, y, bOpts);
    expect(identical(fused.loss, loss)).toBe(true);
    expect(identical(fused.grad, grad)).toBe(true);
  });

  it("unit weights change nothing", () => {
    const c = weightsFx.cases.find((k) => k.name === "len 129 float32")!;
    const x = tensor(c.input);
    const y = tensor(c.target);
    const ones = { data: new Float32Array(129).fill(1), shape: [129] };
    for (const reduction of ["none", "sum"] as const) {
      expect(identical(mseLoss(x, y, { reduction, weight: ones }), mseLoss(x, y, { reduction })), reduction).toBe(true);
      expect(identical(mseLossBackward(x, y, { reduction, weight: ones }), mseLossBackward(x, y, { reduction })), reduction).toBe(true);
    }
    // mean: sum(l) / 129 either way, within the accuracy bound
    const m1 = asNumber(mseLoss(x, y, { weight: ones }), "weighted mean");
    const m0 = asNumber(mseLoss(x, y), "mean");
    expect(Math.abs(m1 - m0)).toBeLessThanOrEqual(2e-15 * Math.abs(m0));
  });
});
