// Every bad input kind of API.md: the right class (TypeError / RangeError / ShapeError,
// which is a RangeError) and a message naming the function, the argument and the value
// received (shapes as [2, 3]); calling before init; out of memory.
import { beforeAll, describe, expect, it } from "vitest";
import {
  alloc,
  init,
  MeanSquaredError,
  MSELoss,
  mseLoss,
  mseLossBackward,
  mseLossWithGrad,
  ShapeError,
} from "../ts/index.js";
import type { Call } from "./helpers/calls.js";
import { freshInstance } from "./helpers/instance.js";
import { captureWarnings } from "./helpers/warnings.js";

type ErrorClass = typeof TypeError | typeof RangeError | typeof ShapeError | typeof Error;

interface BadCall {
  what: string;
  call: () => unknown;
  cls: ErrorClass;
  /** substrings the message must contain: function, argument, value */
  contains: string[];
}

const x23 = { data: new Float64Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] };
const y23 = { data: new Float64Array([6, 5, 4, 3, 2, 1]), shape: [2, 3] };

type Opts = Parameters<typeof mseLossBackward>[2];
const any = <T>(v: unknown): T => v as T;

const BAD: BadCall[] = [
  // ---- TypeError: argument types
  { what: "string input", call: () => mseLoss(any("abc"), [1]), cls: TypeError, contains: ["mseLoss", "input", "abc"] },
  { what: "Int32Array target", call: () => mseLoss([1, 2], any(new Int32Array(2))), cls: TypeError, contains: ["mseLoss", "target", "Int32Array"] },
  { what: "BigInt64Array input", call: () => mseLoss(any(new BigInt64Array(2)), [1, 2]), cls: TypeError, contains: ["mseLoss", "input", "BigInt64Array"] },
  { what: "Uint8Array input", call: () => mseLoss(any(new Uint8Array(2)), [1, 2]), cls: TypeError, contains: ["mseLoss", "input", "Uint8Array"] },
  { what: "boolean element", call: () => mseLoss(any([1, true]), [1, 2]), cls: TypeError, contains: ["mseLoss", "input", "true"] },
  { what: "string element", call: () => mseLoss([1, 2], any([1, "2"])), cls: TypeError, contains: ["mseLoss", "target", '"2"'] },
  { what: "null element, nested", call: () => mseLoss(any([[1, 2], [3, null]]), [[1, 2], [3, 4]]), cls: TypeError, contains: ["mseLoss", "input", "null"] },
  { what: "null input", call: () => mseLoss(any(null), [1]), cls: TypeError, contains: ["mseLoss", "input", "null"] },
  { what: "missing target", call: () => mseLoss(any([1]), any(undefined)), cls: TypeError, contains: ["mseLoss", "target", "undefined"] },
  { what: "boolean input", call: () => mseLoss(any(true), [1]), cls: TypeError, contains: ["mseLoss", "input", "true"] },
  { what: "bigint input", call: () => mseLoss(any(3n), [1]), cls: TypeError, contains: ["mseLoss", "input", "3n"] },
  { what: "ragged nesting", call: () => mseLoss(any([[1, 2], [3]]), [[1, 2], [3, 4]]), cls: TypeError, contains: ["mseLoss", "input", "ragged"] },
  { what: "ragged nesting (number where array)", call: () => mseLoss([[1, 2], [3, 4]], any([[1, 2], 3])), cls: TypeError, contains: ["mseLoss", "target", "ragged"] },
  { what: "tensor-like with Int32Array data", call: () => mseLoss(any({ data: new Int32Array(2), shape: [2] }), [1, 2]), cls: TypeError, contains: ["mseLoss", "input", "Int32Array"] },
  { what: "tensor-like with string data", call: () => mseLoss(any({ data: "ab", shape: [2] }), [1, 2]), cls: TypeError, contains: ["mseLoss", "input", '"ab"'] },
  { what: "tensor-like with boolean in data", call: () => mseLoss(any({ data: [1, false], shape: [2] }), [1, 2]), cls: TypeError, contains: ["mseLoss", "input", "false"] },
  { what: "tensor-like with string shape", call: () => mseLoss(any({ data: [1], shape: "1" }), [1]), cls: TypeError, contains: ["mseLoss", "input", "shape", '"1"'] },
  { what: "plain object input", call: () => mseLoss(any({ values: [1] }), [1]), cls: TypeError, contains: ["mseLoss", "input", "object"] },
  { what: "non-object options", call: () => mseLoss([1], [2], any("mean")), cls: TypeError, contains: ["mseLoss", "options", '"mean"'] },
  { what: "null options", call: () => mseLoss([1], [2], any(null)), cls: TypeError, contains: ["mseLoss", "options", "null"] },
  { what: "non-boolean broadcast", call: () => mseLoss([1], [2], any({ broadcast: 1 })), cls: TypeError, contains: ["mseLoss", "broadcast", "1"] },
  { what: "Int32Array weight", call: () => mseLoss(x23, y23, any({ weight: new Int32Array(6) })), cls: TypeError, contains: ["mseLoss", "weight", "Int32Array"] },
  { what: "string weight", call: () => mseLoss(x23, y23, any({ weight: "w" })), cls: TypeError, contains: ["mseLoss", "weight", '"w"'] },
  { what: "string gradOutput", call: () => mseLossBackward(x23, y23, any({ reduction: "none", gradOutput: "g" })), cls: TypeError, contains: ["mseLossBackward", "gradOutput", '"g"'] },
  { what: "Int32Array gradOutput", call: () => mseLossBackward(x23, y23, any({ reduction: "none", gradOutput: new Int32Array(6) })), cls: TypeError, contains: ["mseLossBackward", "gradOutput", "Int32Array"] },
  { what: "backward: Float32 input ok, Int16Array target", call: () => mseLossBackward(new Float32Array(2), any(new Int16Array(2))), cls: TypeError, contains: ["mseLossBackward", "target", "Int16Array"] },
  { what: "withGrad: string input", call: () => mseLossWithGrad(any("x"), [1]), cls: TypeError, contains: ["mseLossWithGrad", "input", '"x"'] },
  // ---- RangeError: shapes, reduction, axis
  { what: "shape product differs from data length", call: () => mseLoss({ data: new Float64Array(5), shape: [2, 3] }, [1]), cls: RangeError, contains: ["mseLoss", "input", "[2, 3]", "5"] },
  { what: "negative dimension", call: () => mseLoss({ data: [], shape: [-1, 2] }, [1]), cls: RangeError, contains: ["mseLoss", "input", "-1"] },
  { what: "non-integer dimension", call: () => mseLoss([1], { data: [1], shape: [1.5] }), cls: RangeError, contains: ["mseLoss", "target", "1.5"] },
  { what: "rank 9", call: () => mseLoss({ data: [1], shape: [1, 1, 1, 1, 1, 1, 1, 1, 1] }, [1]), cls: RangeError, contains: ["mseLoss", "input", "9"] },
  { what: "unknown reduction", call: () => mseLoss([1], [2], any({ reduction: "avg" })), cls: RangeError, contains: ["mseLoss", "reduction", '"avg"'] },
  { what: "unknown reduction in backward", call: () => mseLossBackward([1], [2], any({ reduction: "Mean" })), cls: RangeError, contains: ["mseLossBackward", "reduction", '"Mean"'] },
  { what: "duplicate axis", call: () => mseLoss(x23, y23, { axis: [0, 0] }), cls: RangeError, contains: ["mseLoss", "axis", "0"] },
  { what: "duplicate axis via negative", call: () => mseLoss(x23, y23, { axis: [1, -1] }), cls: RangeError, contains: ["mseLoss", "axis", "-1"] },
  { what: "axis out of range", call: () => mseLoss(x23, y23, { axis: 2 }), cls: RangeError, contains: ["mseLoss", "axis", "2", "[2, 3]"] },
  { what: "negative axis out of range", call: () => mseLoss(x23, y23, { axis: -3 }), cls: RangeError, contains: ["mseLoss", "axis", "-3"] },
  { what: "axis on a rank-0 loss", call: () => mseLoss(1, 2, { axis: 0 }), cls: RangeError, contains: ["mseLoss", "axis", "0"] },
  { what: "non-integer axis", call: () => mseLoss(x23, y23, { axis: 0.5 }), cls: RangeError, contains: ["mseLoss", "axis", "0.5"] },
  { what: "axis with none", call: () => mseLoss(x23, y23, { axis: 0, reduction: "none" }), cls: RangeError, contains: ["mseLoss", "axis", "none"] },
  { what: "axis out of range in backward", call: () => mseLossBackward(x23, y23, { axis: [5] }), cls: RangeError, contains: ["mseLossBackward", "axis", "5"] },
  // ---- ShapeError
  { what: "incompatible shapes", call: () => mseLoss(x23, { data: new Float64Array(4), shape: [2, 2] }), cls: ShapeError, contains: ["mseLoss", "The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 1"] },
  { what: "weight that would expand the loss", call: () => mseLoss(x23, y23, { weight: { data: new Float64Array(12), shape: [2, 2, 3] } }), cls: ShapeError, contains: ["mseLoss", "weight", "[2, 2, 3]", "[2, 3]"] },
  { what: "weight with size-1 dim that would expand", call: () => mseLoss([1, 2], [3, 4], { weight: { data: [1, 1], shape: [2, 1] } }), cls: ShapeError, contains: ["mseLoss", "weight", "[2, 1]"] },
  { what: "incompatible weight", call: () => mseLoss(x23, y23, { weight: [1, 2, 3, 4] }), cls: ShapeError, contains: ["mseLoss", "weight", "[4]"] },
  { what: "incompatible gradOutput", call: () => mseLossBackward(x23, y23, { reduction: "none", gradOutput: [1, 2] }), cls: ShapeError, contains: ["mseLossBackward", "gradOutput", "[2]"] },
  { what: "gradOutput that would expand the loss", call: () => mseLossBackward(x23, y23, { reduction: "none", gradOutput: { data: new Float64Array(12), shape: [2, 2, 3] } }), cls: ShapeError, contains: ["mseLossBackward", "gradOutput", "[2, 2, 3]"] },
  { what: "axis gradOutput of the unreduced shape", call: () => mseLossBackward(x23, y23, { axis: 1, gradOutput: x23 }), cls: ShapeError, contains: ["mseLossBackward", "gradOutput", "[2, 3]"] },
  { what: "withGrad incompatible shapes", call: () => mseLossWithGrad([1, 2, 3], [1, 2]), cls: ShapeError, contains: ["mseLossWithGrad", "The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 0"] },
  // ---- module, metric, alloc
  { what: "MSELoss with bad reduction", call: () => new MSELoss(any({ reduction: "avg" })), cls: RangeError, contains: ["MSELoss", "reduction", '"avg"'] },
  { what: "MSELoss with non-object options", call: () => new MSELoss(any(7)), cls: TypeError, contains: ["MSELoss", "options", "7"] },
  { what: "MSELoss.forward with bad target", call: () => new MSELoss().forward([1], any("t")), cls: TypeError, contains: ["MSELoss", "target", '"t"'] },
  { what: "MSELoss.backward with bad gradOutput", call: () => new MSELoss({ reduction: "none" }).backward([1], [2], any("g")), cls: TypeError, contains: ["MSELoss", "gradOutput", '"g"'] },
  { what: "MeanSquaredError.update with Int32Array", call: () => new MeanSquaredError().update(any(new Int32Array(2)), [1, 2]), cls: TypeError, contains: ["update", "pred", "Int32Array"] },
  { what: "MeanSquaredError.update with incompatible shapes", call: () => new MeanSquaredError().update([1, 2, 3], [1, 2]), cls: ShapeError, contains: ["update", "The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 0"] },
  { what: "MeanSquaredError with non-boolean squared", call: () => new MeanSquaredError(any({ squared: "no" })), cls: TypeError, contains: ["MeanSquaredError", "squared", '"no"'] },
  { what: "MeanSquaredError.fromState(null)", call: () => MeanSquaredError.fromState(any(null)), cls: TypeError, contains: ["fromState", "null"] },
  { what: "MeanSquaredError.fromState with a string field", call: () => MeanSquaredError.fromState(any("state")), cls: TypeError, contains: ["fromState", '"state"'] },
  { what: "alloc with unknown dtype", call: () => alloc(any("int32"), [2]), cls: TypeError, contains: ["alloc", "dtype", '"int32"'] },
  { what: "alloc with negative dimension", call: () => alloc("float32", [2, -3]), cls: RangeError, contains: ["alloc", "shape", "-3"] },
  { what: "alloc with rank 9", call: () => alloc("float32", [1, 1, 1, 1, 1, 1, 1, 1, 1]), cls: RangeError, contains: ["alloc", "shape", "9"] },
  { what: "alloc with string shape", call: () => alloc("float32", any("3")), cls: TypeError, contains: ["alloc", "shape", '"3"'] },
  { what: "alloc with a string dimension", call: () => alloc("float32", any([2, "3"])), cls: TypeError, contains: ["alloc", "'shape'", '"3"', '[2, "3"]'] },
  { what: "alloc with a fractional length", call: () => alloc("float32", 2.5), cls: RangeError, contains: ["alloc", "'shape'", "2.5"] },
  { what: "tensor-like with a string dimension", call: () => mseLoss(any({ data: [1], shape: ["1"] }), [1]), cls: TypeError, contains: ["mseLoss", "'input' field 'shape'", '"1"'] },
];

describe("bad inputs", () => {
  beforeAll(async () => {
    await init();
  });

  it.each(BAD.map((b) => [b.what, b] as const))("%s", (_what, b) => {
    const warnings = captureWarnings();
    let err: unknown;
    try {
      b.call();
    } catch (e) {
      err = e;
    } finally {
      warnings.restore();
    }
    expect(err, `${b.what}: no error thrown`).toBeInstanceOf(b.cls);
    if (b.cls === TypeError) expect(err).not.toBeInstanceOf(RangeError);
    if (b.cls === RangeError) expect(err, `${b.what}: a RangeError but not a ShapeError`).not.toBeInstanceOf(ShapeError);
    if (b.cls === ShapeError) {
      expect(err).toBeInstanceOf(RangeError);
      expect((err as Error).name).toBe("ShapeError");
    }
    const msg = (err as Error).message;
    for (const part of b.contains) expect(msg, `${b.what}: message ${JSON.stringify(msg)}`).toContain(part);
    // shapes print as [2, 3], never 2,3
    expect(msg).not.toMatch(/\b\d+,\d+\b/);
  });

  it("MSELoss validates options when constructed, not when called", () => {
    expect(() => new MSELoss({ reduction: "none", axis: 0 })).toThrow(RangeError);
    expect(() => new MSELoss({ axis: [0, "1"] as never })).toThrow(TypeError);
    expect(() => new MSELoss({ keepdims: "yes" as never })).toThrow(TypeError);
  });

  it("out of WebAssembly memory is a RangeError saying how much was asked; the module stays usable", () => {
    const keep = alloc("float64", [3]);
    keep.view.set([1.5, -2.5, 3.5]);
    for (const [dtype, shape, bytes] of [
      ["float64", [1 << 30], "8589934592"],
      ["float32", [1 << 16, 1 << 16], "17179869184"],
    ] as const) {
      let err: unknown;
      try {
        alloc(dtype, [...shape]);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RangeError);
      expect((err as Error).message).toContain("alloc");
      expect((err as Error).message).toContain(bytes);
    }
    expect(Array.from(keep.view)).toEqual([1.5, -2.5, 3.5]);
    expect(mseLoss(keep, [1.5, -2.5, 2.5], { reduction: "sum" })).toBe(1);
    keep.dispose();
  });
});

describe("before init", () => {
  it("every entry point throws an Error that says to await init()", async () => {
    const fresh = await freshInstance();
    try {
      const calls: Array<[string, Call]> = [
        ["mseLoss", { fn: "mseLoss", input: [1], target: [2] }],
        ["mseLossBackward", { fn: "mseLossBackward", input: [1], target: [2] }],
        ["mseLossWithGrad", { fn: "mseLossWithGrad", input: [1], target: [2] }],
        ["alloc", { fn: "alloc", dtype: "float32", shape: [2] }],
        ["MSELoss.forward", { fn: "MSELoss.forward", input: [1], target: [2] }],
        ["MSELoss.backward", { fn: "MSELoss.backward", input: [1], target: [2] }],
        ["MSELoss with a weight", { fn: "MSELoss.forward", input: [1], target: [2], options: { weight: new Float32Array([1]) } }],
        ["MeanSquaredError.update", { fn: "MeanSquaredError", batches: [[[1], [2]]] }],
      ];
      const outcomes = await fresh.run(calls.map(([, c]) => c));
      outcomes.forEach((o, i) => {
        const name = calls[i][0];
        expect("error" in o, `${name}: no error before init`).toBe(true);
        if ("error" in o) {
          expect(o.error.isError, name).toBe(true);
          expect(o.error.message, name).toContain("await init()");
          expect(o.error.message, name).toContain(name.split(/[. ]/)[0]);
        }
      });
      await fresh.init();
      const [after] = await fresh.run([{ fn: "mseLoss", input: [1], target: [3] }]);
      expect(after).toEqual({ value: 4 });
    } finally {
      fresh.close();
    }
    // the module imported statically is a different, initialised instance
    expect(mseLoss([1], [4])).toBe(9);
  });
});
