// The accuracy promise of API.md: "mean"/"sum" within 1e-6 relative (float32 data) and
// 1e-13 (float64 data) of the exact real value of sum((x - y)^2) over the given values,
// checked against an exact BigInt reference computed here from the float values.
import { beforeAll, describe, expect, it } from "vitest";
import { init, mseLoss, mseLossWithGrad } from "../ts/index.js";
import { exactSumSquaredDiff, relativeError, toNumber, type ExactValue } from "./helpers/exact.js";
import { asNumber, asTensor } from "./helpers/fixtures.js";
import { spreadValues } from "./helpers/random.js";

beforeAll(async () => {
  await init();
});

const RTOL = { float32: 1e-6, float64: 1e-13 } as const;

function expectWithin(got: number, exact: ExactValue, divisor: number, rtol: number, what: string): void {
  const err = relativeError(got, exact, divisor);
  expect(err <= rtol, `${what}: got ${got}, exact ${toNumber(exact) / divisor}, relative error ${err} > ${rtol}`).toBe(true);
}

describe("float32 0.1 repeated 1,392,640 times vs 0", () => {
  const n = 1_392_640;
  const f = Math.fround(0.1); // 13421773 * 2^-27
  const x = new Float32Array(n).fill(f);
  const zeros = new Float32Array(n);
  // exact: n * f^2 = n * 13421773^2 * 2^-54
  const exact: ExactValue = { mant: BigInt(n) * 13421773n * 13421773n, exp: -54 };

  it("the exact reference is what it should be", () => {
    expect(f).toBe(13421773 * 2 ** -27);
    expect(exactSumSquaredDiff(x.subarray(0, 1000), zeros.subarray(0, 1000))).toEqual({ mant: 1000n * 13421773n * 13421773n, exp: -54 });
  });

  it("sum and mean are within float32 accuracy of the exact value (not 0.009837)", () => {
    const sum = asNumber(mseLoss(x, zeros, { reduction: "sum" }), "sum");
    const mean = asNumber(mseLoss(x, zeros), "mean");
    expectWithin(sum, exact, 1, RTOL.float32, "sum");
    expectWithin(mean, exact, n, RTOL.float32, "mean");
    expect(Math.abs(mean - 0.009837)).toBeGreaterThan(1e-4);
    const fused = mseLossWithGrad(x, zeros);
    expectWithin(fused.loss as number, exact, n, RTOL.float32, "fused mean");
  });

  it("the same through the broadcasting (strided) path and axis reductions", () => {
    const zero1 = { data: new Float32Array(1), shape: [1] };
    expectWithin(asNumber(mseLoss(x, zero1, { reduction: "sum", broadcast: true }), "sum"), exact, 1, RTOL.float32, "broadcast sum");
    expectWithin(asNumber(mseLoss(x, zero1, { broadcast: true }), "mean"), exact, n, RTOL.float32, "broadcast mean");
    // [1360, 1024]: reduce the long leading axis, and the inner one
    const x2 = { data: x, shape: [1360, 1024] };
    const perColumn: ExactValue = { mant: 1360n * 13421773n * 13421773n, exp: -54 };
    const perRow: ExactValue = { mant: 1024n * 13421773n * 13421773n, exp: -54 };
    const cols = asTensor(mseLoss(x2, zero1, { reduction: "sum", axis: 0, broadcast: true }), "axis 0");
    expect(cols.shape).toEqual([1024]);
    const rows = asTensor(mseLoss(x2, zero1, { reduction: "mean", axis: -1, broadcast: true }), "axis -1");
    expect(rows.shape).toEqual([1360]);
    for (let i = 0; i < cols.data.length; i++) expectWithin(cols.data[i], perColumn, 1, RTOL.float32, `column ${i}`);
    for (let i = 0; i < rows.data.length; i++) expectWithin(rows.data[i], perRow, 1024, RTOL.float32, `row ${i}`);
  });
});

describe("random data against the exact BigInt reference", () => {
  const sizes = [100_000, 1 << 20];
  for (const dtype of ["float32", "float64"] as const) {
    for (const n of sizes) {
      it(`${dtype} n=${n}`, () => {
        const len = dtype === "float64" && n === 1 << 20 ? n - 3 : n; // an odd length too
        const x = spreadValues(len, n + 1, 8, dtype);
        const y = spreadValues(len, n + 2, 8, dtype);
        const exact = exactSumSquaredDiff(x, y);
        const sum = asNumber(mseLoss(x, y, { reduction: "sum" }), "sum");
        const mean = asNumber(mseLoss(x, y), "mean");
        expectWithin(sum, exact, 1, RTOL[dtype], `${dtype} sum`);
        expectWithin(mean, exact, len, RTOL[dtype], `${dtype} mean`);
        const fused = mseLossWithGrad(x, y, { reduction: "sum" });
        expectWithin(fused.loss as number, exact, 1, RTOL[dtype], `${dtype} fused sum`);
      });
    }
  }

  for (const dtype of ["float32", "float64"] as const) {
    it(`${dtype} broadcast [1024, 256] vs [256] and [1024, 1]`, () => {
      const rows = 1024;
      const cols = 256;
      const x = spreadValues(rows * cols, 11, 6, dtype);
      const yRow = spreadValues(cols, 12, 6, dtype);
      const yCol = spreadValues(rows, 13, 6, dtype);
      const input = { data: x, shape: [rows, cols] };
      const exactRow = exactSumSquaredDiff(x, yRow, (i) => i % cols);
      const exactCol = exactSumSquaredDiff(x, yCol, (i) => Math.floor(i / cols));
      const sumRow = asNumber(mseLoss(input, { data: yRow, shape: [cols] }, { reduction: "sum", broadcast: true }), "sum");
      const meanCol = asNumber(mseLoss(input, { data: yCol, shape: [rows, 1] }, { broadcast: true }), "mean");
      expectWithin(sumRow, exactRow, 1, RTOL[dtype], `${dtype} broadcast row sum`);
      expectWithin(meanCol, exactCol, rows * cols, RTOL[dtype], `${dtype} broadcast column mean`);
    });
  }

  for (const dtype of ["float32", "float64"] as const) {
    it(`${dtype} axis 0 and the expanded-input gradient: columns gathered (few outputs) and rows walked (many)`, () => {
      for (const [rows, cols] of [[1024, 3], [300, 7], [65, 2], [100, 40], [5, 600], [40, 1100]] as const) {
        const x = spreadValues(rows * cols, 31 + cols, 6, dtype);
        const y = spreadValues(rows * cols, 41 + cols, 6, dtype);
        const input = { data: x, shape: [rows, cols] };
        const target = { data: y, shape: [rows, cols] };
        const sums = asTensor(mseLoss(input, target, { axis: 0, reduction: "sum" }), "axis 0 sum");
        const means = asTensor(mseLoss(input, target, { axis: -2 }), "axis -2 mean");
        expect(sums.shape).toEqual([cols]);
        for (let j = 0; j < cols; j++) {
          const column = (v: ArrayLike<number>): number[] => Array.from({ length: rows }, (_, i) => v[i * cols + j] as number);
          const exact = exactSumSquaredDiff(column(x), column(y));
          // results are in the dtype: one rounding to it on top of the accuracy bound
          const tol = RTOL[dtype] + (dtype === "float32" ? 2 ** -24 : 2 ** -53);
          expectWithin(sums.data[j] as number, exact, 1, tol, `${dtype} [${rows}, ${cols}] column ${j} sum`);
          expectWithin(means.data[j] as number, exact, rows, tol, `${dtype} [${rows}, ${cols}] column ${j} mean`);
        }
        // input [1, cols] expanded by target [rows, cols]: grad_j = sum_i 2 (x_j - y_ij) / (rows * cols)
        const row = x.subarray(0, cols);
        const grad = mseLossWithGrad({ data: row, shape: [1, cols] }, target, { broadcast: true }).grad;
        for (let j = 0; j < cols; j++) {
          let s = 0;
          let c = 0;
          let magnitude = 0;
          for (let i = 0; i < rows; i++) {
            // Neumaier-compensated float64 reference of the float32/float64 terms
            const d = dtype === "float32" ? Math.fround(Math.fround((row[j] as number) - (y[i * cols + j] as number)) * Math.fround(2 / (rows * cols))) : ((row[j] as number) - (y[i * cols + j] as number)) * (2 / (rows * cols));
            magnitude += Math.abs(d);
            const t = s + d;
            c += Math.abs(s) >= Math.abs(d) ? s - t + d : d - t + s;
            s = t;
          }
          const want = s + c;
          const got = grad.data[j] as number;
          // terms summed in the dtype at most 8 (16) at a time before the compensated
          // float64 sum, then one rounding to the dtype: the signed terms may cancel, so
          // the bound is relative to the sum of their magnitudes
          const u = dtype === "float32" ? 2 ** -24 : 2 ** -53;
          const bound = u * Math.abs(want) + 16 * u * magnitude;
          expect(Math.abs(got - want), `${dtype} [${rows}, ${cols}] grad ${j}: ${got} vs ${want}`).toBeLessThanOrEqual(bound);
        }
      }
    });
  }

  it("mixed float32 input and float64 target are float64 math (1e-13)", () => {
    const n = 100_000;
    const x = spreadValues(n, 21, 8, "float32");
    const y = spreadValues(n, 22, 8, "float64");
    const exact = exactSumSquaredDiff(x, y);
    expectWithin(asNumber(mseLoss(x, y, { reduction: "sum" }), "sum"), exact, 1, RTOL.float64, "mixed sum");
  });
});
