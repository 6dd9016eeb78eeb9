// The worked examples of the brief: y_pred = [1.5, 2.1, 2.9, 4.2] against
// y_true = [1, 2, 3, 4] (number[], float64) has mean 0.0775, and the 3x3 prediction
// [[1,2,3],[2,1,3],[3,1,2]] against the one-hot label gives squared differences
// [[0, 4, 9], [4, 0, 9], [9, 1, 1]], in
// float64 from plain arrays and in float32 against PyTorch.
import { beforeAll, describe, expect, it } from "vitest";
import { init, mseLoss } from "../ts/index.js";
import forwardJson from "./fixtures/forward.json";
import {
  asNumber,
  asTensor,
  expectClose,
  expectTensorMatches,
  num,
  tensor,
  type ForwardFixture,
} from "./helpers/fixtures.js";

const fx = forwardJson as unknown as ForwardFixture;

function fixtureCase(name: string): ForwardFixture["cases"][number] {
  const c = fx.cases.find((k) => k.name === name);
  if (c === undefined) throw new Error(`fixture case ${name} missing`);
  return c;
}

beforeAll(async () => {
  await init();
});

describe("seed: 4 elements, number[] (float64)", () => {
  const input = [1.5, 2.1, 2.9, 4.2];
  const target = [1, 2, 3, 4];

  it("mean is 0.0775 to 1e-15", () => {
    const mean = asNumber(mseLoss(input, target), "mean");
    expect(Math.abs(mean - 0.0775)).toBeLessThanOrEqual(1e-15);
    expectClose(mean, num(fixtureCase("seed-4 float64").results.mean.value), 1e-13, "vs torch");
  });

  it("sum and none match torch", () => {
    const c = fixtureCase("seed-4 float64");
    const sum = asNumber(mseLoss(input, target, { reduction: "sum" }), "sum");
    expect(Math.abs(sum - 0.31)).toBeLessThanOrEqual(4e-15);
    expectClose(sum, num(c.results.sum.value), 1e-13, "sum vs torch");
    const none = asTensor(mseLoss(input, target, { reduction: "none" }), "none");
    expect(none.data).toBeInstanceOf(Float64Array);
    expectTensorMatches(none, c.results.none, 0, "none");
  });

  it("float32 version matches torch", () => {
    const c = fixtureCase("seed-4 float32");
    const x = tensor(c.input);
    const y = tensor(c.target);
    expect(x.data).toBeInstanceOf(Float32Array);
    const mean = asNumber(mseLoss(x.data, y.data), "mean");
    expectClose(mean, num(c.results.mean.value64), 1e-6, "mean vs exact");
    expectClose(mean, num(c.results.mean.value), 2e-6, "mean vs torch float32");
    expect(Math.abs(mean - 0.0775)).toBeLessThan(1e-7);
    const none = asTensor(mseLoss(x.data, y.data, { reduction: "none" }), "none");
    expectTensorMatches(none, c.results.none, 0, "none");
  });
});

describe("seed: 3x3", () => {
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

  it('"none" gives [[0, 4, 9], [4, 0, 9], [9, 1, 1]] of shape [3, 3]', () => {
    const none = asTensor(mseLoss(yPred, yTrue, { reduction: "none" }), "none");
    expect(none.shape).toEqual([3, 3]);
    expect(none.data).toBeInstanceOf(Float64Array);
    expect(Array.from(none.data)).toEqual([0, 4, 9, 4, 0, 9, 9, 1, 1]);
  });

  it("mean is 37/9 and sum is 37", () => {
    const mean = asNumber(mseLoss(yPred, yTrue), "mean");
    expect(Math.abs(mean - 37 / 9)).toBeLessThanOrEqual(1e-15 * (37 / 9));
    expect(mseLoss(yPred, yTrue, { reduction: "sum" })).toBe(37);
    expect(mseLoss(yTrue, yPred, { reduction: "sum" })).toBe(37);
  });

  it("float64 and float32 versions match torch", () => {
    for (const name of ["seed-3x3 float64", "seed-3x3 float32"]) {
      const c = fixtureCase(name);
      const x = tensor(c.input);
      const y = tensor(c.target);
      const none = asTensor(mseLoss(x, y, { reduction: "none" }), `${name} none`);
      expectTensorMatches(none, c.results.none, 0, `${name} none`);
      expect(mseLoss(x, y, { reduction: "sum" })).toBe(num(c.results.sum.value));
      const mean = asNumber(mseLoss(x, y), `${name} mean`);
      expectClose(mean, num(c.results.mean.value64), 1e-15, `${name} mean`);
      expect(num(c.results.sum.value)).toBe(37);
    }
  });
});
