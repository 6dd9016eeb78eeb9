// Library calls described as plain data, so that the same call can run on a module
// instance in this thread or in a Web Worker (structured clone carries typed arrays,
// NaN and -0 unchanged). No vitest import: test/helpers/instance-worker.ts uses it.
import type * as LibModule from "../../ts/index.js";

export type Lib = typeof LibModule;
type DType = "float32" | "float64";

export type Call =
  | { fn: "mseLoss" | "mseLossBackward" | "mseLossWithGrad"; input: unknown; target: unknown; options?: unknown; wasm?: DType }
  | { fn: "alloc"; dtype: DType; shape: number[] }
  | { fn: "MSELoss.forward" | "MSELoss.backward"; input: unknown; target: unknown; options?: unknown }
  | { fn: "MeanSquaredError"; batches: Array<[unknown, unknown]>; options?: unknown };

/** A call's outcome: its value, or the error's class name and message. */
export type Outcome = { value: unknown } | { error: { name: string; message: string; isError: boolean } };

function copyIntoWasm(lib: Lib, arg: unknown, dtype: DType): LibModule.WasmTensor {
  const t = arg as { data: ArrayLike<number>; shape: number[] };
  const w = lib.alloc(dtype, t.shape);
  w.view.set(t.data);
  return w;
}

function execute(lib: Lib, call: Call): unknown {
  type Opts = Parameters<Lib["mseLossBackward"]>[2];
  type Arg = Parameters<Lib["mseLoss"]>[0];
  switch (call.fn) {
    case "mseLoss":
    case "mseLossBackward":
    case "mseLossWithGrad": {
      const f = lib[call.fn] as (a: Arg, b: Arg, o?: Opts) => unknown;
      if (call.wasm === undefined) return f(call.input as Arg, call.target as Arg, call.options as Opts);
      const a = copyIntoWasm(lib, call.input, call.wasm);
      const b = copyIntoWasm(lib, call.target, call.wasm);
      try {
        return f(a, b, call.options as Opts);
      } finally {
        a.dispose();
        b.dispose();
      }
    }
    case "alloc": {
      const t = lib.alloc(call.dtype, call.shape);
      const out = { dtype: t.dtype, shape: [...t.shape], length: t.view.length };
      t.dispose();
      return out;
    }
    case "MSELoss.forward":
      return new lib.MSELoss(call.options as Opts).forward(call.input as Arg, call.target as Arg);
    case "MSELoss.backward":
      return new lib.MSELoss(call.options as Opts).backward(call.input as Arg, call.target as Arg);
    case "MeanSquaredError": {
      const m = new lib.MeanSquaredError(call.options as ConstructorParameters<Lib["MeanSquaredError"]>[0]);
      for (const [p, t] of call.batches) m.update(p as Arg, t as Arg);
      return m.compute();
    }
  }
}

/** Runs `call` on `lib`, catching any error into the outcome. */
export function runCall(lib: Lib, call: Call): Outcome {
  try {
    return { value: execute(lib, call) };
  } catch (e) {
    const err = e as { name?: unknown; message?: unknown };
    return { error: { name: String(err?.name), message: String(err?.message), isError: e instanceof Error } };
  }
}
