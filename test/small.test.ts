// mseLoss, mseLossWithGrad and MeanSquaredError.update compute typed arrays of at most 16
// elements in JS (ts/small.ts) instead of calling wasm; that replay must return the
// kernels' bits exactly. A tensor-like {data, shape} operand always goes through the wasm
// kernel (a state, TwoSum, then mse_state_loss), so it is the reference here. WasmTensors
// (one mse_sum_once call, whose single-block short path must agree too) are checked as well.
import { beforeAll, describe, expect, it } from "vitest";
import { alloc, init, MeanSquaredError, MSELoss, mseLoss, mseLossBackward, mseLossWithGrad } from "../ts/index.js";
import { identical } from "./helpers/fixtures.js";

beforeAll(async () => {
  await init();
});

/** Deterministic values spanning many magnitudes, both signs, and a few non-finite ones. */
function values(n: number, seed: number): number[] {
  let s = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = s / 2 ** 32;
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push((u - 0.5) * 10 ** ((s / 2 ** 32) * 12 - 6));
  }
  return out;
}

describe.each(["float32", "float64"] as const)("%s inputs of 0..16 elements", (dtype) => {
  const Ctor = dtype === "float32" ? Float32Array : Float64Array;
  it("sum and mean equal the wasm kernel bit for bit: the JS replay, typed arrays, WasmTensors", () => {
    for (let n = 0; n <= 16; n++) {
      for (let seed = 1; seed <= 40; seed++) {
        const a = Ctor.from(values(n, seed));
        const b = Ctor.from(values(n, seed * 7919));
        if (seed === 1 && n > 0) a[0] = Infinity;
        if (seed === 2 && n > 0) b[n - 1] = NaN;
        if (seed === 3 && n > 1) a[n - 2] = dtype === "float32" ? 3e38 : 1e308;
        for (const reduction of ["sum", "mean"] as const) {
          const kernel = mseLoss({ data: a, shape: [n] }, { data: b, shape: [n] }, { reduction });
          expect(Object.is(mseLoss(a, b, { reduction }), kernel)).toBe(true);
          expect(Object.is(mseLossWithGrad(a, b, { reduction }).loss, kernel)).toBe(true);
          if (reduction === "mean") {
            // one update into an empty metric: its sum is the kernel's sum, compensation 0
            expect(Object.is(new MeanSquaredError().update(a, b).compute(), kernel)).toBe(true);
          }
          const x = alloc(dtype, [n]);
          const y = alloc(dtype, [n]);
          x.view.set(a);
          y.view.set(b);
          expect(Object.is(mseLoss(x, y, { reduction }), kernel)).toBe(true);
          x.dispose();
          y.dispose();
        }
      }
    }
  });
});

describe("flat number[] operands of 1..16 elements (float64, replayed in JS)", () => {
  it("equal the general path bit for bit: mseLoss, MSELoss.forward, MeanSquaredError.update", () => {
    for (let n = 0; n <= 18; n++) {
      for (let seed = 1; seed <= 20; seed++) {
        const a = values(n, seed + 100);
        const b = values(n, seed * 104729);
        if (seed === 1 && n > 0) a[0] = Infinity;
        if (seed === 2 && n > 0) b[n - 1] = NaN;
        if (seed === 3 && n > 1) a[n - 2] = 1e308;
        for (const reduction of ["sum", "mean"] as const) {
          // a Float64Array inside a tensor-like goes through coercion and the wasm kernel
          const kernel = mseLoss({ data: Float64Array.from(a), shape: [n] }, { data: Float64Array.from(b), shape: [n] }, { reduction });
          expect(Object.is(mseLoss(a, b, { reduction }), kernel), `n ${n} seed ${seed} ${reduction}`).toBe(true);
          expect(Object.is(new MSELoss({ reduction }).forward(a, b), kernel)).toBe(true);
          if (reduction === "mean" && n > 0) {
            expect(Object.is(new MeanSquaredError().update(a, b).compute(), kernel)).toBe(true);
          }
        }
      }
    }
  });

  it("leave every other array to the general path: its errors and broadcasting", () => {
    expect(() => mseLoss([1, 2, "3"] as unknown as number[], [1, 2, 3])).toThrow(
      "mseLoss: argument 'input' must contain only numbers (got \"3\" at [2])",
    );
    // eslint-disable-next-line no-sparse-arrays
    expect(() => mseLoss([1, 2, 3], [1, , 3] as number[])).toThrow("argument 'target' must contain only numbers (got undefined at [1])");
    expect(mseLoss([[1], [2]] as unknown as number[], [1, 2], { broadcast: true })).toBe(0.5);
    expect(mseLoss([[1, 2]] as unknown as number[], [[1, 4]] as unknown as number[])).toBe(2);
    expect(mseLoss([1, 2, 3], [1], { broadcast: true })).toBe(5 / 3);
  });

  it("an element getter that calls mseLoss again gets its own result, and so does the outer call", () => {
    const inner: number[] = [];
    const a = [1, 2, 3, 4];
    Object.defineProperty(a, 2, {
      get: () => {
        inner.push(mseLoss([10, 20, 30, 40, 50], [0, 0, 0, 0, 0]));
        return 3;
      },
      enumerable: true,
    });
    expect(mseLoss(a, [1.5, 2.1, 2.9, 4.2])).toBeCloseTo(0.0775, 15);
    expect(mseLoss(a, [1.5, 2.1, 2.9, 4.2])).toBe(mseLoss([1, 2, 3, 4], [1.5, 2.1, 2.9, 4.2]));
    expect(inner).toEqual([1100, 1100]);
  });
});

describe.each(["float32", "float64"] as const)("mseLossWithGrad on plain %s arrays", (dtype) => {
  const Ctor = dtype === "float32" ? Float32Array : Float64Array;
  it("equals the general path (tensor-like operands) bit for bit, lengths 1..300", () => {
    for (let n = 1; n <= 300; n += n < 40 ? 1 : 37) {
      const a = Ctor.from(values(n, n));
      const b = Ctor.from(values(n, n * 31));
      for (const reduction of ["sum", "mean"] as const) {
        const fast = mseLossWithGrad(a, b, { reduction });
        const general = mseLossWithGrad({ data: a, shape: [n] }, { data: b, shape: [n] }, { reduction });
        expect(Object.is(fast.loss, general.loss)).toBe(true);
        expect(fast.grad.shape).toEqual([n]);
        expect(fast.grad.data).toBeInstanceOf(Ctor);
        expect(Array.from(fast.grad.data)).toEqual(Array.from(general.grad.data));
        const backward = mseLossBackward(a, b, { reduction });
        expect(Array.from(fast.grad.data)).toEqual(Array.from(backward.data));
        expect(Object.is(fast.loss, mseLoss(a, b, { reduction }))).toBe(true);
      }
    }
  });
});

describe.each(["float32", "float64"] as const)("mseLossWithGrad on %s WasmTensors", (dtype) => {
  it("equals the general path (tensor-like operands) bit for bit, in the input's shape", () => {
    // Sizes below and above one scratch chunk (CHUNK_BYTES: 16384 float32 / 8192 float64
    // elements). Up to 16 elements the JS replay reads the tensors through the memory view.
    for (const shape of [[1], [3], [15], [16], [2, 8], [2, 2, 3], [17], [2, 40], [3, 129], [1000], [5000], [20000], [3, 6001]]) {
      const n = shape.reduce((p, d) => p * d, 1);
      const a = alloc(dtype, shape);
      const b = alloc(dtype, shape);
      a.view.set(values(n, n + 5));
      b.view.set(values(n, n * 3 + 1));
      for (const reduction of ["sum", "mean"] as const) {
        const fast = mseLossWithGrad(a, b, { reduction });
        const general = mseLossWithGrad(
          { data: a.view.slice(), shape },
          { data: b.view.slice(), shape },
          { reduction },
        );
        expect(Object.is(fast.loss, general.loss)).toBe(true);
        expect(fast.grad.shape).toEqual(shape);
        expect(fast.grad.data).toBeInstanceOf(dtype === "float32" ? Float32Array : Float64Array);
        expect(Array.from(fast.grad.data)).toEqual(Array.from(general.grad.data));
        const backward = mseLossBackward(a, b, { reduction });
        expect(backward.shape).toEqual(shape);
        expect(Array.from(backward.data)).toEqual(Array.from(general.grad.data));
      }
      a.dispose();
      b.dispose();
    }
  });
});

describe.each(["float32", "float64"] as const)("the direct paths of every reduction on %s typed arrays and WasmTensors", (dtype) => {
  // mseLoss "none", mseLossBackward, MSELoss.backward and mseLossWithGrad on a typed-array
  // pair or a WasmTensor pair (gradOutput absent or a number) take a direct path: tiny
  // inputs replayed in JS, else one kernel call without the general planning. Tensor-like
  // operands take the general path, the reference here.
  const Ctor = dtype === "float32" ? Float32Array : Float64Array;
  const gradOutputs = [undefined, 1, 0.37, -2.5, 1e-30, 3e38, -0, NaN, Infinity];
  it("equals the general path bit for bit, every reduction and a number gradOutput, with and without out", () => {
    for (const shape of [[1], [2], [7], [15], [16], [2, 8], [17], [2, 40], [300], [3, 129], [5000], [20000]]) {
      const n = shape.reduce((p, d) => p * d, 1);
      const av = Ctor.from(values(n, n + 17));
      const bv = Ctor.from(values(n, n * 13 + 2));
      if (n > 2) av[1] = Infinity;
      const x = alloc(dtype, shape);
      const y = alloc(dtype, shape);
      x.view.set(av);
      y.view.set(bv);
      const outTensor = alloc(dtype, shape);
      for (const reduction of ["mean", "sum", "none"] as const) {
        for (const gradOutput of gradOutputs) {
          const what = `shape ${JSON.stringify(shape)} ${reduction} gradOutput ${String(gradOutput)}`;
          const general = mseLossBackward({ data: av, shape }, { data: bv, shape }, { reduction, gradOutput });
          const want = Array.from(general.data);
          const arrays = mseLossBackward(av, bv, { reduction, gradOutput });
          if (shape.length === 1) {
            expect(arrays.shape, what).toEqual(shape);
            expect(arrays.data, what).toBeInstanceOf(Ctor);
            expect(Array.from(arrays.data), `${what} arrays`).toEqual(want);
            const module = new MSELoss({ reduction }).backward(av, bv, gradOutput);
            expect(Array.from(module.data), `${what} MSELoss.backward`).toEqual(want);
            const out = new Ctor(n).fill(7);
            const into = mseLossBackward(av, bv, { reduction, gradOutput, out });
            expect(into.data, what).toBe(out);
            expect(Array.from(out), `${what} out`).toEqual(want);
          }
          const tensors = mseLossBackward(x, y, { reduction, gradOutput });
          expect(tensors.shape, what).toEqual(shape);
          expect(Array.from(tensors.data), `${what} WasmTensors`).toEqual(want);
          outTensor.view.fill(7);
          mseLossBackward(x, y, { reduction, gradOutput, out: outTensor });
          expect(Array.from(outTensor.view), `${what} out WasmTensor`).toEqual(want);
          const fusedGeneral = mseLossWithGrad({ data: av, shape }, { data: bv, shape }, { reduction, gradOutput });
          expect(Array.from(fusedGeneral.grad.data), `${what} general fused grad`).toEqual(want);
          const lossGeneral = mseLoss({ data: av, shape }, { data: bv, shape }, { reduction });
          const fusedForms = [mseLossWithGrad(x, y, { reduction, gradOutput })];
          if (shape.length === 1) fusedForms.push(mseLossWithGrad(av, bv, { reduction, gradOutput }));
          for (const fused of fusedForms) {
            expect(Array.from(fused.grad.data), `${what} fused grad`).toEqual(want);
            expect(identical(fused.loss, fusedGeneral.loss), `${what} fused loss`).toBe(true);
            expect(identical(fused.loss, lossGeneral), `${what} fused loss vs mseLoss`).toBe(true);
          }
          if (gradOutput === undefined) {
            expect(identical(mseLoss(x, y, { reduction }), lossGeneral), `${what} mseLoss WasmTensors`).toBe(true);
            if (shape.length === 1) expect(identical(mseLoss(av, bv, { reduction }), lossGeneral), `${what} mseLoss arrays`).toBe(true);
          }
        }
      }
      x.dispose();
      y.dispose();
      outTensor.dispose();
    }
  });
});

describe.each(["float32", "float64"] as const)("%s typed-array views of wasm memory on the direct paths", (dtype) => {
  it("read in place (above one chunk) or copied: the WasmTensors' bits either way", () => {
    // A WasmTensor's `.view` passed as a plain typed array: up to one chunk it is copied,
    // beyond it the chunk driver reads it where it is.
    for (const n of [16, 100, 4096, 5000, 20000, 40003]) {
      const a = alloc(dtype, [n]);
      const b = alloc(dtype, [n]);
      a.view.set(values(n, n + 11));
      b.view.set(values(n, n * 5 + 3));
      for (const reduction of ["sum", "mean"] as const) {
        const want = mseLoss(a, b, { reduction });
        expect(Object.is(mseLoss(a.view, b.view, { reduction }), want), `n ${n} ${reduction}`).toBe(true);
        const fused = mseLossWithGrad(a.view, b.view, { reduction });
        const general = mseLossWithGrad({ data: a.view.slice(), shape: [n] }, { data: b.view.slice(), shape: [n] }, { reduction });
        expect(Object.is(fused.loss, want), `n ${n} ${reduction} fused loss`).toBe(true);
        expect(Array.from(fused.grad.data), `n ${n} ${reduction} fused grad`).toEqual(Array.from(general.grad.data));
        // a view of the other dtype is converted, not read in place
        const other = dtype === "float32" ? Float64Array.from(b.view) : Float32Array.from(b.view);
        const mixed = mseLoss({ data: a.view.slice(), shape: [n] }, { data: other, shape: [n] }, { reduction });
        expect(Object.is(mseLoss(a.view, { data: other, shape: [n] }, { reduction }), mixed), `n ${n} ${reduction} mixed`).toBe(true);
      }
      a.dispose();
      b.dispose();
    }
  });
});
