// The `out` option of mseLossBackward and mseLossWithGrad: the gradient written into the
// caller's Float32Array / Float64Array or WasmTensor; and of mseLoss: its loss Tensor. Against torch's input.grad
// (backward.json, weights.json, axis.json) and bit for bit against the same call without
// `out`; on every kernel path (the JS replay of tiny inputs, the contiguous chunked and
// in-place kernels, the strided and the expanded-input kernels); when `out` shares memory
// with an operand; and its errors, which leave `out` and the heap untouched.
import { beforeAll, describe, expect, it } from "vitest";
import {
  alloc,
  heapStats,
  init,
  MSELoss,
  mseLoss,
  mseLossBackward,
  mseLossWithGrad,
  ShapeError,
  type WasmTensor,
} from "../ts/index.js";
import axisJson from "./fixtures/axis.json";
import backwardJson from "./fixtures/backward.json";
import weightsJson from "./fixtures/weights.json";
import {
  arrayClass,
  asTensor,
  bytesEqual,
  expectTensorNear,
  expectGradAgainstTorch,
  gradOptionsOf,
  identical,
  isFxTensor,
  rtolFor,
  tensor,
  type AxisFixture,
  type BackwardFixture,
  type DType,
  type FxTensor,
  type WeightsFixture,
} from "./helpers/fixtures.js";
import { spreadValues } from "./helpers/random.js";
import { silenceWarningsInSuite } from "./helpers/warnings.js";

type Options = NonNullable<Parameters<typeof mseLossBackward>[2]>;
type FloatArray = Float32Array | Float64Array;

const backwardFx = backwardJson as unknown as BackwardFixture;
const weightsFx = weightsJson as unknown as WeightsFixture;
const axisFx = axisJson as unknown as AxisFixture;

beforeAll(async () => {
  await init();
});
silenceWarningsInSuite();

const JUNK = 12345.5;

/** A JS-heap `out` for a gradient of `dtype` x `size`, filled with junk (every element must be written). */
function arrayOut(dtype: DType, size: number): FloatArray {
  return new (arrayClass(dtype))(size).fill(JUNK);
}

/** A WasmTensor `out` of `dtype` and `shape`, filled with junk. */
function tensorOut(dtype: DType, shape: readonly number[]): WasmTensor {
  const t = alloc(dtype, shape);
  t.view.fill(JUNK);
  return t;
}

/** The same gradient, bit for bit. */
function expectSameBits(got: FloatArray, want: FloatArray, what: string): void {
  expect(got.constructor, `${what}: dtype`).toBe(want.constructor);
  expect(bytesEqual(got, want), `${what}: bits`).toBe(true);
}

/**
 * Runs `call` with no `out`, with an array `out` and with a WasmTensor `out`, each of the
 * dtype and shape of the result `pick` takes from the call without `out`; checks that each
 * returns its `out` as that result's `data` (a WasmTensor's view), with its shape and the
 * bits of the call without it. Returns the three calls' results and the one without out.
 */
function acrossOutKinds<R>(
  call: (out: FloatArray | WasmTensor | undefined) => R,
  pick: (r: R) => unknown,
  what: string,
): { plain: R; want: { data: FloatArray; shape: number[] }; withArray: R; withTensor: R } {
  const plain = call(undefined);
  const want = asTensor(pick(plain), `${what} (no out)`);
  const dtype: DType = want.data instanceof Float32Array ? "float32" : "float64";
  const arr = arrayOut(dtype, want.data.length);
  const withArray = call(arr);
  const gotArray = asTensor(pick(withArray), `${what} (array out)`);
  expect(gotArray.data, `${what}: data is out`).toBe(arr);
  expect(gotArray.shape, what).toEqual(want.shape);
  expectSameBits(arr, want.data, `${what} (array out)`);
  const t = tensorOut(dtype, want.shape);
  try {
    const withTensor = call(t);
    const gotTensor = asTensor(pick(withTensor), `${what} (WasmTensor out)`);
    expect(gotTensor.data, `${what}: data is the tensor's view`).toBe(t.view);
    expect(gotTensor.shape, what).toEqual(want.shape);
    expectSameBits(t.view, want.data, `${what} (WasmTensor out)`);
    return { plain, want, withArray, withTensor };
  } finally {
    t.dispose();
  }
}

/**
 * `acrossOutKinds` for a gradient (`grad`, of the input's dtype and shape); the losses
 * must agree too. Returns the gradient.
 */
function acrossOuts(
  input: FxTensor,
  call: (out: FloatArray | WasmTensor | undefined) => { loss?: unknown; grad: unknown },
  what: string,
): FloatArray {
  const { plain, want, withArray, withTensor } = acrossOutKinds(call, (r) => r.grad, what);
  expect(want.shape, `${what}: the gradient has input's shape`).toEqual(input.shape);
  expect(want.data.constructor, `${what}: and its dtype`).toBe(arrayClass(input.dtype));
  if (plain.loss !== undefined) {
    expect(identical(withArray.loss, plain.loss), `${what}: loss with array out`).toBe(true);
    expect(identical(withTensor.loss, plain.loss), `${what}: loss with WasmTensor out`).toBe(true);
  }
  return want.data;
}

function withOut(o: Options, out: FloatArray | WasmTensor | undefined): Options {
  return out === undefined ? o : { ...o, out };
}


describe("out vs torch input.grad, and the same bits as without out", () => {
  it.each(backwardFx.cases.map((c) => [c.name, c] as const))("backward: %s", (name, c) => {
    const x = tensor(c.input);
    const y = tensor(c.target);
    for (const e of c.grads) {
      const what = `${name} ${e.reduction}`;
      const o = gradOptionsOf(e);
      const grad = acrossOuts(c.input, (out) => ({ grad: mseLossBackward(x, y, withOut(o, out)) }), `${what} backward`);
      expectGradAgainstTorch({ data: grad, shape: c.input.shape }, e, what);
      const fused = acrossOuts(c.input, (out) => mseLossWithGrad(x, y, withOut(o, out)), `${what} withGrad`);
      expectGradAgainstTorch({ data: fused, shape: c.input.shape }, e, `${what} withGrad`);
    }
  });

  it.each(weightsFx.cases.map((c) => [c.name, c] as const))("weights: %s", (name, c) => {
    const x = tensor(c.input);
    const y = tensor(c.target);
    const weight = tensor(c.weight);
    for (const e of c.grads) {
      const what = `${name} ${e.reduction}`;
      const o: Options = { ...gradOptionsOf(e), weight };
      const grad = acrossOuts(c.input, (out) => ({ grad: mseLossBackward(x, y, withOut(o, out)) }), `${what} backward`);
      expectGradAgainstTorch({ data: grad, shape: c.input.shape }, e, what);
      acrossOuts(c.input, (out) => mseLossWithGrad(x, y, withOut(o, out)), `${what} withGrad`);
    }
  });

  it.each(axisFx.cases.map((c) => [c.name, c] as const))("axis: %s", (name, c) => {
    const x = tensor(c.input);
    const y = tensor(c.target);
    const o: Options = { reduction: c.reduction, keepdims: c.keepdims };
    if (c.axis !== null) o.axis = c.axis;
    if (c.gradOutput !== undefined) o.gradOutput = tensor(c.gradOutput);
    const grad = acrossOuts(c.input, (out) => ({ grad: mseLossBackward(x, y, withOut(o, out)) }), `${name} backward`);
    expectGradAgainstTorch({ data: grad, shape: c.input.shape }, c, name);
    acrossOuts(c.input, (out) => mseLossWithGrad(x, y, withOut(o, out)), `${name} withGrad`);
  });
});

describe("out on every kernel path", () => {
  // 1..40: the JS replay (<= 16) and the first kernel sizes; 20000 and 40003 span several
  // 64 KiB chunks when copied, and one in-place call when both operands are WasmTensors.
  const sizes = [1, 2, 3, 15, 16, 17, 31, 40, 257, 20000, 40003];
  for (const dtype of ["float32", "float64"] as const) {
    it(`${dtype} pairs of every size: typed arrays and WasmTensors, "mean" and "sum"`, () => {
      for (const n of sizes) {
        const a = spreadValues(n, n, 3, dtype);
        const b = spreadValues(n, n + 7, 3, dtype);
        const fx: FxTensor = { dtype, shape: [n], data: [] };
        for (const reduction of ["mean", "sum"] as const) {
          const what = `${dtype} n=${n} ${reduction}`;
          acrossOuts(fx, (out) => mseLossWithGrad(a, b, withOut({ reduction }, out)), `${what} withGrad`);
          acrossOuts(fx, (out) => ({ grad: mseLossBackward(a, b, withOut({ reduction }, out)) }), `${what} backward`);
          const ta = alloc(dtype, [n]);
          const tb = alloc(dtype, [n]);
          try {
            ta.view.set(a);
            tb.view.set(b);
            acrossOuts(fx, (out) => mseLossWithGrad(ta, tb, withOut({ reduction }, out)), `${what} withGrad, WasmTensors`);
            acrossOuts(fx, (out) => ({ grad: mseLossBackward(ta, tb, withOut({ reduction }, out)) }), `${what} backward, WasmTensors`);
            // gradOutput and weights take the general planned path
            const o: Options = { reduction: "none", gradOutput: b, weight: a };
            acrossOuts(fx, (out) => mseLossWithGrad(ta, tb, withOut(o, out)), `${what} none, weighted, WasmTensors`);
          } finally {
            ta.dispose();
            tb.dispose();
          }
        }
      }
    });
  }

  it("mixed dtypes: the gradient is computed in float64 and written in input's dtype", () => {
    for (const n of [5, 20000]) {
      const a = spreadValues(n, 1, 2, "float32");
      const b = spreadValues(n, 2, 2, "float64");
      const fx: FxTensor = { dtype: "float32", shape: [n], data: [] };
      acrossOuts(fx, (out) => mseLossWithGrad(a, b, withOut({}, out)), `mixed n=${n}`);
      acrossOuts(fx, (out) => ({ grad: mseLossBackward(a, b, withOut({ reduction: "sum" }, out)) }), `mixed n=${n} backward`);
    }
  });

  it("broadcasting: target expanded by input, and input expanded by target (gradient summed back)", () => {
    const x = { data: spreadValues(6 * 500, 3, 2, "float32"), shape: [6, 500] };
    const y = { data: spreadValues(500, 4, 2, "float32"), shape: [500] };
    const fx: FxTensor = { dtype: "float32", shape: [6, 500], data: [] };
    acrossOuts(fx, (out) => mseLossWithGrad(x, y, withOut({ broadcast: true }, out)), "target broadcast");
    const small: FxTensor = { dtype: "float32", shape: [500], data: [] };
    acrossOuts(small, (out) => ({ grad: mseLossBackward(y, x, withOut({ broadcast: true }, out)) }), "input expanded");
    acrossOuts(small, (out) => mseLossWithGrad(y, x, withOut({ broadcast: true, axis: 0 }, out)), "input expanded, axis 0");
  });

  it("an empty input writes nothing and returns out", () => {
    const out = new Float32Array(0);
    const r = mseLossWithGrad(new Float32Array(0), new Float32Array(0), { out });
    expect(Number.isNaN(r.loss as number)).toBe(true);
    expect(r.grad.data).toBe(out);
    expect(mseLossBackward(new Float32Array(0), new Float32Array(0), { out }).data).toBe(out);
  });

  it("a loss shape with no elements (a broadcast dim of size 0) makes out all zeros", () => {
    const x = { data: spreadValues(3, 61, 2, "float64"), shape: [3, 1] };
    const y = { data: new Float64Array(0), shape: [3, 0] };
    const fx: FxTensor = { dtype: "float64", shape: [3, 1], data: [] };
    for (const reduction of ["mean", "sum", "none"] as const) {
      const zeros = acrossOuts(fx, (out) => ({ grad: mseLossBackward(x, y, withOut({ reduction, broadcast: true }, out)) }), `empty loss ${reduction}`);
      expect(Array.from(zeros)).toEqual([0, 0, 0]);
      acrossOuts(fx, (out) => mseLossWithGrad(x, y, withOut({ reduction, broadcast: true }, out)), `empty loss ${reduction} withGrad`);
    }
  });
});

/** Where `out` goes for an operand pair `a` (size + 3 elements), `b` (size): on them or into them. */
function overlapCases(size: number): Array<[string, (a: Float32Array, b: Float32Array) => Float32Array]> {
  return [
    ["out is input", (a) => a.subarray(0, size)],
    ["out is target", (_a, b) => b],
    ["out starts 1 element into input", (a) => a.subarray(1, size + 1)],
    ["out starts 3 elements into input", (a) => a.subarray(3, size + 3)],
  ];
}

describe("out sharing memory with an operand", () => {
  const n = 20000;

  it("out is input, target or overlaps them in part: the result is as computed from the operands' values", () => {
    for (const size of [7, n]) {
      const a0 = spreadValues(size + 3, 11, 2, "float32");
      const b0 = spreadValues(size, 12, 2, "float32");
      const want = mseLossWithGrad(a0.subarray(0, size), b0);
      const wantSum = mseLossBackward(a0.subarray(0, size), b0, { reduction: "sum" });
      for (const [what, outOf] of overlapCases(size)) {
        const a = a0.slice();
        const b = b0.slice();
        const out = outOf(a, b);
        const r = mseLossWithGrad(a.subarray(0, size), b, { out });
        expect(r.grad.data, what).toBe(out);
        expect(r.loss, `${what} (n=${size}): loss`).toBe(want.loss);
        expectSameBits(out, want.grad.data, `${what} (n=${size})`);
        const a2 = a0.slice();
        const b2 = b0.slice();
        const out2 = outOf(a2, b2);
        const back = mseLossBackward(a2.subarray(0, size), b2, { reduction: "sum", out: out2 });
        expect(back.data, `${what}: backward`).toBe(out2);
        expectSameBits(out2, wantSum.data, `${what} (n=${size}), backward "sum"`);
      }
    }
  });

  it("a WasmTensor out that is the input tensor, and a view into it", () => {
    for (const size of [9, n]) {
      const a0 = spreadValues(size, 21, 2, "float64");
      const b0 = spreadValues(size, 22, 2, "float64");
      const want = mseLossWithGrad(a0, b0, { reduction: "sum" });
      const ta = alloc("float64", [size]);
      const tb = alloc("float64", [size]);
      try {
        ta.view.set(a0);
        tb.view.set(b0);
        const r = mseLossWithGrad(ta, tb, { reduction: "sum", out: ta });
        expect(r.loss).toBe(want.loss);
        expect(r.grad.data).toBe(ta.view);
        expectSameBits(ta.view, want.grad.data, `tensor out = input (n=${size})`);
        expectSameBits(tb.view, b0, "target unchanged");
        // a typed-array view into wasm memory as out, overlapping the target tensor
        ta.view.set(a0);
        const r2 = mseLossWithGrad(ta, tb, { reduction: "sum", out: tb.view });
        expect(r2.loss).toBe(want.loss);
        expectSameBits(r2.grad.data, want.grad.data, `view of target as out (n=${size})`);
        expectSameBits(tb.view, want.grad.data, "target tensor now holds the gradient");
        expectSameBits(ta.view, a0, "input unchanged");
      } finally {
        ta.dispose();
        tb.dispose();
      }
    }
  });

  it("out overlapping weight or gradOutput", () => {
    const size = 3000;
    const a = spreadValues(size, 31, 2, "float32");
    const b = spreadValues(size, 32, 2, "float32");
    const w0 = spreadValues(size, 33, 1, "float32");
    const want = mseLossBackward(a, b, { reduction: "none", weight: w0, gradOutput: w0 });
    const w = w0.slice();
    const r = mseLossBackward(a, b, { reduction: "none", weight: w, gradOutput: w, out: w });
    expect(r.data).toBe(w);
    expectSameBits(w, want.data, "out is weight and gradOutput");
  });

  it("out one element into weight or gradOutput, over several chunks", () => {
    // Writing each chunk's gradient would change the next chunk's weight / gradOutput.
    const size = n;
    const a = spreadValues(size, 34, 2, "float32");
    const b = spreadValues(size, 35, 2, "float32");
    const v0 = spreadValues(size + 1, 36, 1, "float32");
    for (const key of ["weight", "gradOutput"] as const) {
      const want = mseLossBackward(a, b, { reduction: "none", [key]: v0.subarray(0, size) });
      const v = v0.slice();
      const r = mseLossBackward(a, b, { reduction: "none", [key]: v.subarray(0, size), out: v.subarray(1) });
      expectSameBits(r.data, want.data, `out one element into ${key}`);
    }
  });

  it("out one element into an operand in wasm memory (views of one tensor)", () => {
    for (const size of [9, n]) {
      const t = alloc("float32", [size + 1]);
      const tb = alloc("float32", [size]);
      try {
        const a0 = spreadValues(size + 1, 37, 2, "float32");
        t.view.set(a0);
        tb.view.set(spreadValues(size, 38, 2, "float32"));
        const want = mseLossWithGrad(a0.subarray(0, size), tb.view.slice());
        const r = mseLossWithGrad(t.view.subarray(0, size), tb.view, { out: t.view.subarray(1) });
        expect(r.loss, `n ${size}: loss`).toBe(want.loss);
        expectSameBits(r.grad.data, want.grad.data, `n ${size}: gradient one element into the input`);
        t.view.set(a0);
        const none = mseLoss(t.view.subarray(0, size), tb.view, { reduction: "none", out: t.view.subarray(1) });
        expectSameBits(none.data, mseLoss(a0.subarray(0, size), tb.view.slice(), { reduction: "none" }).data, `n ${size}: loss one element into the input`);
      } finally {
        t.dispose();
        tb.dispose();
      }
    }
  });

  it("out leaves every operand it does not share unchanged", () => {
    const a = spreadValues(n, 41, 2, "float32");
    const b = spreadValues(n, 42, 2, "float32");
    const a1 = a.slice();
    const b1 = b.slice();
    mseLossWithGrad(a, b, { out: new Float32Array(n) });
    mseLossBackward(a, b, { out: new Float32Array(n), reduction: "sum" });
    expectSameBits(a, a1, "input");
    expectSameBits(b, b1, "target");
  });
});

/**
 * An input of `[2, 4]` and a target of `[rows, 1, 4]` broadcast against it, in JS memory:
 * the strided kernels copy them into wasm memory, more bytes than the whole memory has,
 * so a call on them grows memory.
 */
function growingOperands(seed: number): { input: { data: Float32Array; shape: number[] }; big: { data: Float32Array; shape: number[] } } {
  const rows = Math.ceil(heapStats().memoryBytes / (4 * 4)) + 16;
  return {
    input: { data: spreadValues(2 * 4, seed, 2, "float32"), shape: [2, 4] },
    big: { data: spreadValues(rows * 4, seed + 2, 2, "float32"), shape: [rows, 1, 4] },
  };
}

/**
 * `call(out)` with `out` the view of a new float32 WasmTensor of `shape`, where the call
 * grows memory (which detaches that view): the result must be in the tensor, with the
 * bits of the call without `out` (`call(undefined)`), and returned as a live view.
 */
function expectWrittenAcrossGrow(shape: number[], call: (out: Float32Array | undefined) => unknown, what: string): void {
  const t = tensorOut("float32", shape);
  try {
    const outView = t.view;
    const before = heapStats().memoryBytes;
    const r = asTensor(call(outView), what);
    expect(heapStats().memoryBytes, `${what}: the call grew memory`).toBeGreaterThan(before);
    const want = asTensor(call(undefined), `${what} (no out)`);
    expect(outView.length, `${what}: the caller's view is detached by the grow`).toBe(0);
    expect(r.shape, what).toEqual(want.shape);
    expectSameBits(t.view, want.data, `${what}: the tensor holds the result`);
    expectSameBits(r.data, want.data, `${what}: the returned data`);
    expect(r.data.buffer, `${what}: a view over the grown memory`).toBe(t.view.buffer);
  } finally {
    t.dispose();
  }
}

describe("out as a view into wasm memory, across a memory.grow in the call", () => {
  // The destination is resolved when `out` is checked: the call writes the caller's view,
  // which the grow detached, by its pointer, also when it allocates before it writes.
  it("the gradient (written by the strided kernel)", () => {
    const { input, big } = growingOperands(51);
    expectWrittenAcrossGrow([2, 4], (out) => mseLossBackward(input, big, withOut({ broadcast: true }, out)), "backward");
  });

  it("an axis reduction (written by the reduce kernel)", () => {
    const { input, big } = growingOperands(81);
    expectWrittenAcrossGrow([2, 4], (out) => mseLoss(input, big, out === undefined ? { broadcast: true, axis: 0 } : { broadcast: true, axis: 0, out }), "axis 0");
  });

  it("a full reduction with keepdims (its sums computed by a strided call first)", () => {
    const { input, big } = growingOperands(91);
    expectWrittenAcrossGrow([1, 1, 1], (out) => mseLoss(input, big, out === undefined ? { broadcast: true, keepdims: true } : { broadcast: true, keepdims: true, out }), "keepdims");
  });

  it("the gradient of a weighted mean (the weight sum computed by a strided call first)", () => {
    const { input, big } = growingOperands(95);
    const weight = [0.5, 1, 1.5, 2];
    expectWrittenAcrossGrow([2, 4], (out) => mseLossBackward(input, big, withOut({ broadcast: true, weight }, out)), "weighted mean");
  });
});

describe("out errors", () => {
  const x = new Float32Array([1, 2, 3, 4]);
  const y = new Float32Array([2, 2, 2, 2]);
  const WANT = "a Float32Array of 4 elements or a float32 WasmTensor of shape [4] (the gradient has input's dtype and shape)";

  const cases: Array<[string, () => unknown, new (...args: never[]) => Error, string]> = [
    ["a Float64Array for float32", () => new Float64Array(4), TypeError, `(got a Float64Array)`],
    ["too short", () => new Float32Array(3), ShapeError, "(got a Float32Array of 3 elements)"],
    ["too long", () => new Float32Array(5), ShapeError, "(got a Float32Array of 5 elements)"],
    ["a number[]", () => [0, 0, 0, 0], TypeError, "(got [0, 0, 0, 0])"],
    ["null", () => null, TypeError, "(got null)"],
    ["an Int32Array", () => new Int32Array(4), TypeError, "(got Int32Array)"],
    ["a tensor-like", () => ({ data: new Float32Array(4), shape: [4] }), TypeError, "(got a plain object)"],
    ["a WasmTensor of another dtype", () => alloc("float64", [4]), TypeError, "(got a float64 WasmTensor)"],
    ["a WasmTensor of another shape", () => alloc("float32", [2, 2]), ShapeError, "(got a WasmTensor of shape [2, 2])"],
  ];

  for (const [what, make, cls, got] of cases) {
    it(`${what}: ${cls.name}, naming 'out' and the value; nothing written or allocated`, () => {
      const before = heapStats().allocatedBytes;
      const out = make();
      const allocated = heapStats().allocatedBytes;
      for (const call of [
        () => mseLossBackward(x, y, { out: out as Float32Array }),
        () => mseLossWithGrad(x, y, { out: out as Float32Array }),
        () => mseLossWithGrad({ data: x, shape: [4] }, [1, 2, 3, 4], { out: out as Float32Array, weight: [1, 1, 1, 1] }),
      ]) {
        let error: unknown;
        try {
          call();
        } catch (e) {
          error = e;
        }
        expect(error, what).toBeInstanceOf(cls);
        const message = (error as Error).message;
        expect(message).toMatch(/^mseLoss(Backward|WithGrad): argument 'out' must be /);
        expect(message).toContain(got);
        expect(message).toContain(WANT);
        expect(heapStats().allocatedBytes, `${what}: nothing allocated`).toBe(allocated);
      }
      if (out instanceof Float32Array || out instanceof Float64Array) expect(Array.from(out).every((v) => v === 0)).toBe(true);
      if (typeof out === "object" && out !== null && "dispose" in out) {
        expect(Array.from((out as WasmTensor).view).every((v) => v === 0), `${what}: tensor untouched`).toBe(true);
        (out as WasmTensor).dispose();
      }
      expect(heapStats().allocatedBytes).toBe(before);
    });
  }

  it("a float64 input names Float64Array", () => {
    expect(() => mseLossBackward([1, 2], [3, 4], { out: new Float32Array(2) })).toThrow(
      "mseLossBackward: argument 'out' must be a Float64Array of 2 elements or a float64 WasmTensor of shape [2] " +
        "(the gradient has input's dtype and shape) (got a Float32Array)",
    );
  });

  it("a disposed WasmTensor, a detached buffer", () => {
    const t = alloc("float32", [4]);
    t.dispose();
    expect(() => mseLossWithGrad(x, y, { out: t })).toThrow("mseLossWithGrad: argument 'out' is a WasmTensor used after dispose()");
    const detached = new Float32Array(4);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    expect(() => mseLossWithGrad(x, y, { out: detached })).toThrow(TypeError);
    expect(() => mseLossWithGrad(x, y, { out: detached })).toThrow(/argument 'out' is a Float32Array over a detached ArrayBuffer/);
  });

  it("input errors come first; MSELoss takes no out", () => {
    expect(() => mseLossBackward(x, new Float32Array(3), { out: new Float64Array(1) })).toThrow(ShapeError);
    expect(() => mseLossBackward(x, new Float32Array(3), { out: new Float64Array(1) })).toThrow(
      "The size of tensor a (4) must match the size of tensor b (3) at non-singleton dimension 0",
    );
    expect(() => mseLossWithGrad(x, "y" as never, { out: new Float64Array(1) })).toThrow(/argument 'target'/);
    expect(() => mseLoss(x, new Float32Array(3), { reduction: "none", out: new Float64Array(1) })).toThrow(ShapeError);
    expect(() => mseLoss(x, y, { reduction: "none", axis: 0, out: new Float64Array(1) })).toThrow(RangeError);
    expect(() => mseLoss({ data: x, shape: [2, 2] }, { data: y, shape: [2, 2] }, { axis: 2, out: new Float64Array(1) })).toThrow(/axis/);
    expect(() => new MSELoss({ out: new Float32Array(4) } as never)).toThrow(
      'MSELoss: unknown option "out" (expected reduction, sizeAverage, reduce, broadcast, axis, keepdims, weight)',
    );
  });
});

/** `acrossOutKinds` for mseLoss's Tensor result; returns the result without `out`. */
function acrossLossOuts(call: (out: FloatArray | WasmTensor | undefined) => unknown, what: string): { data: FloatArray; shape: number[] } {
  return acrossOutKinds(call, (r) => r, what).want;
}

describe("mseLoss out: the loss Tensor (reduction \"none\", axis, keepdims)", () => {
  type LossOptions = NonNullable<Parameters<typeof mseLoss>[2]>;
  const withLossOut = (o: LossOptions, out: FloatArray | WasmTensor | undefined): LossOptions => (out === undefined ? o : { ...o, out });

  it.each(axisFx.cases.filter((c) => isFxTensor(c.result)).map((c) => [c.name, c] as const))("axis vs torch: %s", (name, c) => {
    const x = tensor(c.input);
    const y = tensor(c.target);
    const o: LossOptions = { reduction: c.reduction, keepdims: c.keepdims };
    if (c.axis !== null) o.axis = c.axis;
    const got = acrossLossOuts((out) => mseLoss(x, y, withLossOut(o, out)), name);
    expectTensorNear(got, c.result as FxTensor, c.result64, undefined, rtolFor((c.result as FxTensor).dtype), name);
  });

  it.each(weightsFx.cases.map((c) => [c.name, c] as const))("weighted \"none\": %s", (name, c) => {
    const x = tensor(c.input);
    const y = tensor(c.target);
    const weight = tensor(c.weight);
    acrossLossOuts((out) => mseLoss(x, y, withLossOut({ reduction: "none", weight, broadcast: true }, out)), name);
  });

  it("\"none\" on every kernel path: the JS replay, the direct and general contiguous kernels, broadcasting", () => {
    for (const dtype of ["float32", "float64"] as const) {
      for (const n of [1, 2, 15, 16, 17, 40, 257, 20000, 40003]) {
        const a = spreadValues(n, n + 1, 3, dtype);
        const b = spreadValues(n, n + 2, 3, dtype);
        const what = `${dtype} n=${n}`;
        acrossLossOuts((out) => mseLoss(a, b, withLossOut({ reduction: "none" }, out)), `${what} typed arrays`);
        acrossLossOuts((out) => mseLoss({ data: a, shape: [n] }, { data: b, shape: [n] }, withLossOut({ reduction: "none" }, out)), `${what} tensor-likes`);
        acrossLossOuts((out) => mseLoss(a, b, withLossOut({ reduction: "none", weight: b }, out)), `${what} weighted`);
        const ta = alloc(dtype, [n]);
        const tb = alloc(dtype, [n]);
        try {
          ta.view.set(a);
          tb.view.set(b);
          acrossLossOuts((out) => mseLoss(ta, tb, withLossOut({ reduction: "none" }, out)), `${what} WasmTensors`);
        } finally {
          ta.dispose();
          tb.dispose();
        }
      }
      const rows = { data: spreadValues(6 * 500, 3, 2, dtype), shape: [6, 500] };
      const row = { data: spreadValues(500, 4, 2, dtype), shape: [500] };
      acrossLossOuts((out) => mseLoss(rows, row, withLossOut({ reduction: "none", broadcast: true }, out)), `${dtype} broadcast`);
      acrossLossOuts((out) => mseLoss(rows, row, withLossOut({ axis: 0, broadcast: true }, out)), `${dtype} broadcast, axis 0`);
      acrossLossOuts((out) => mseLoss(rows, rows, withLossOut({ axis: 1, reduction: "sum" }, out)), `${dtype} axis 1`);
      acrossLossOuts((out) => mseLoss(rows, rows, withLossOut({ axis: 0, weight: row }, out)), `${dtype} weighted axis 0`);
      acrossLossOuts((out) => mseLoss(rows, rows, withLossOut({ keepdims: true }, out)), `${dtype} keepdims`);
      acrossLossOuts((out) => mseLoss({ data: rows.data, shape: [6, 1, 500] }, rows, withLossOut({ axis: 1, broadcast: true }, out)), `${dtype} only a size-1 axis reduced`);
    }
  });

  it("mixed dtypes: a float64 result takes a Float64Array", () => {
    const a = spreadValues(300, 5, 2, "float32");
    const b = spreadValues(300, 6, 2, "float64");
    const got = acrossLossOuts((out) => mseLoss(a, b, withLossOut({ reduction: "none" }, out)), "mixed");
    expect(got.data).toBeInstanceOf(Float64Array);
  });

  it("out is an operand or overlaps one: the result is as computed from the operands' values", () => {
    for (const size of [7, 20000]) {
      const a0 = spreadValues(size + 3, 71, 2, "float32");
      const b0 = spreadValues(size, 72, 2, "float32");
      const want = mseLoss(a0.subarray(0, size), b0, { reduction: "none" });
      for (const [what, outOf] of overlapCases(size)) {
        const a = a0.slice();
        const b = b0.slice();
        const out = outOf(a, b);
        const r = mseLoss(a.subarray(0, size), b, { reduction: "none", out });
        expect(r.data, what).toBe(out);
        expectSameBits(out, want.data, `${what} (n=${size})`);
      }
      // a WasmTensor out that is the input tensor, and axis results over a view of the input
      const ta = alloc("float32", [size]);
      const tb = alloc("float32", [size]);
      try {
        ta.view.set(a0.subarray(0, size));
        tb.view.set(b0);
        mseLoss(ta, tb, { reduction: "none", out: ta });
        expectSameBits(ta.view, want.data, `tensor out = input (n=${size})`);
        expectSameBits(tb.view, b0, "target unchanged");
      } finally {
        ta.dispose();
        tb.dispose();
      }
    }
    const t = alloc("float64", [4, 250]);
    try {
      t.view.set(spreadValues(1000, 73, 2, "float64"));
      const y = spreadValues(1000, 74, 2, "float64");
      const want = mseLoss(t, { data: y, shape: [4, 250] }, { axis: 0 });
      const r = mseLoss(t, { data: y, shape: [4, 250] }, { axis: 0, out: t.view.subarray(100, 350) });
      expectSameBits(r.data, want.data, "axis result over the input's own memory");
    } finally {
      t.dispose();
    }
  });

  it("an empty loss: nothing written, out returned", () => {
    const out = new Float32Array(0);
    expect(mseLoss(new Float32Array(0), new Float32Array(0), { reduction: "none", out }).data).toBe(out);
    const zero = { data: new Float64Array(0), shape: [0, 3] };
    const r = mseLoss(zero, zero, { axis: 0, out: new Float64Array(3) });
    expect(Array.from(r.data).every(Number.isNaN)).toBe(true);
  });

  it("errors: a number result, another dtype, size, shape or kind; nothing written or allocated", () => {
    const a = new Float32Array([1, 2, 3, 4]);
    const b = new Float32Array([2, 2, 2, 2]);
    const grid = { data: a, shape: [2, 2] };
    const before = heapStats().allocatedBytes;
    const out = new Float32Array(4);
    for (const o of [{}, { reduction: "sum" as const }, { axis: [0, 1] }, { axis: -1 }]) {
      const call = () => mseLoss(o.axis === -1 ? a : grid, o.axis === -1 ? b : { data: b, shape: [2, 2] }, { ...o, out } as never);
      expect(call).toThrow(TypeError);
      expect(call).toThrow(
        "mseLoss: argument 'out' is for a Tensor result (reduction \"none\", 'axis' or 'keepdims'); this call returns a number (got Float32Array)",
      );
    }
    const NONE_WANT = "(the loss has the operands' promoted dtype and the result's shape)";
    const bad: Array<[() => unknown, (new (...args: never[]) => Error) | null, string]> = [
      [() => mseLoss(a, b, { reduction: "none", out: new Float64Array(4) }), TypeError, "must be a Float32Array of 4 elements or a float32 WasmTensor of shape [4] " + NONE_WANT + " (got a Float64Array)"],
      [() => mseLoss(a, b, { reduction: "none", out: new Float32Array(3) }), ShapeError, "(got a Float32Array of 3 elements)"],
      [() => mseLoss(grid, { data: b, shape: [2, 2] }, { axis: 0, out: new Float32Array(4) }), ShapeError, "must be a Float32Array of 2 elements or a float32 WasmTensor of shape [2]"],
      [() => mseLoss(grid, { data: b, shape: [2, 2] }, { axis: 0, keepdims: true, out: new Float32Array(2) }), null, ""],
      [() => mseLoss(a, [1, 2, 3, 4], { reduction: "none", out: new Float32Array(4) }), TypeError, "must be a Float64Array of 4 elements"],
      [() => mseLoss(a, b, { reduction: "none", out: [0, 0, 0, 0] as never }), TypeError, "(got [0, 0, 0, 0])"],
    ];
    for (const [call, cls, text] of bad) {
      if (cls === null) {
        expect(call).not.toThrow();
        continue;
      }
      expect(call).toThrow(cls);
      expect(call).toThrow(text);
      expect(call).toThrow(/^mseLoss: argument 'out' /);
    }
    const wrongShape = alloc("float32", [2, 2]);
    try {
      expect(() => mseLoss(a, b, { reduction: "none", out: wrongShape })).toThrow("(got a WasmTensor of shape [2, 2])");
      expect(Array.from(wrongShape.view)).toEqual([0, 0, 0, 0]);
    } finally {
      wrongShape.dispose();
    }
    expect(Array.from(out)).toEqual([0, 0, 0, 0]);
    expect(heapStats().allocatedBytes).toBe(before);
  });
});
