// mseLoss against PyTorch's F.mse_loss (test/fixtures/forward.json): every reduction,
// float32/float64/mixed, ranks 0..4, SIMD tail lengths, broadcasting, empty inputs,
// non-finite values, PyTorch's warnings (exact text, once per process), legacy
// size_average/reduce, incompatible shapes, and every array-argument form.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alloc, init, mseLoss, ShapeError } from "../ts/index.js";
import forwardJson from "./fixtures/forward.json";
import {
  arrayClass,
  asNumber,
  asTensor,
  expectClose,
  expectTensorMatches,
  identical,
  nest,
  num,
  rtolFor,
  tensor,
  type Decoded,
  type ForwardCase,
  type ForwardFixture,
  type Reduction,
} from "./helpers/fixtures.js";
import { captureWarnings, expectedChannel, type WarningCapture } from "./helpers/warnings.js";

const fx = forwardJson as unknown as ForwardFixture;
const REDUCTIONS: Reduction[] = ["mean", "sum", "none"];

let warnings: WarningCapture;
/** Messages this module instance has already emitted (each one only once per process). */
const emitted = new Set<string>();

beforeAll(async () => {
  await init();
  warnings = captureWarnings();
});

afterAll(() => {
  warnings.restore();
});

/** Asserts that exactly the not-yet-emitted ones of `torchWarnings` were emitted now. */
function expectWarnings(torchWarnings: readonly string[], what: string): void {
  const expected = torchWarnings.filter((m) => !emitted.has(m));
  for (const m of torchWarnings) emitted.add(m);
  const got = warnings.take();
  expect(got.map((w) => w.message), `${what}: warnings`).toEqual(expected);
  for (const w of got) expect(w.channel, `${what}: warning channel`).toBe(expectedChannel());
}

function checkScalar(got: unknown, c: ForwardCase, reduction: "mean" | "sum", what: string): void {
  const r = c.results[reduction];
  const value = asNumber(got, what);
  const torchValue = num(r.value);
  const exact = num(r.value64);
  if (!Number.isFinite(torchValue)) {
    // NaN/Infinity: IEEE propagation in the result dtype, as torch computes it
    expect(Object.is(value, torchValue) || (Number.isNaN(value) && Number.isNaN(torchValue)), `${what}: got ${value}, torch ${torchValue}`).toBe(true);
    return;
  }
  expectClose(value, exact, rtolFor(r.dtype), `${what} vs exact`);
}

describe("float32 mean/sum are returned as float64 numbers", () => {
  it("not rounded to float32", () => {
    // squares 1 and 2^-40: their sum 1 + 2^-40 is a double but no float32
    const x = new Float32Array([1, 2 ** -20, 0]);
    const zeros = new Float32Array(3);
    expect(mseLoss(x, zeros, { reduction: "sum" })).toBe(1 + 2 ** -40);
    expect(mseLoss(x, zeros)).toBe((1 + 2 ** -40) / 3);
    const big = new Float32Array(1000).fill(2 ** -20);
    big[0] = 1;
    // float32 rounding would give exactly 1; the accuracy bound allows 1e-6 relative
    const sum = asNumber(mseLoss(big, new Float32Array(1000), { reduction: "sum" }), "sum");
    expect(sum).toBeGreaterThan(1);
    expectClose(sum, 1 + 999 * 2 ** -40, 1e-6, "sum");
  });
});

describe("mseLoss vs torch F.mse_loss", () => {
  it.each(fx.cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const x = tensor(c.input);
    const y = tensor(c.target);
    for (const reduction of REDUCTIONS) {
      const what = `${c.name} ${reduction}`;
      const got = mseLoss(x, y, { reduction });
      expectWarnings(c.warnings, what);
      if (reduction === "none") {
        const t = asTensor(got, what);
        expect(t.data).toBeInstanceOf(arrayClass(c.results.none.dtype));
        expectTensorMatches(t, c.results.none, 0, what);
      } else {
        checkScalar(got, c, reduction, what);
      }
    }
    // default reduction is "mean"
    expect(identical(mseLoss(x, y), mseLoss(x, y, { reduction: "mean" })), `${c.name}: default is mean`).toBe(true);
    warnings.take();
  });
});

describe("PyTorch warnings", () => {
  const x = tensor(fx.cases.find((c) => c.name === "seed-3x3 float64")!.input);
  const y = tensor(fx.cases.find((c) => c.name === "seed-3x3 float64")!.target);

  it.each(fx.legacy.map((c) => [JSON.stringify(c.options), c] as const))(
    "legacy %s maps like torch",
    (_name, c) => {
      const got = mseLoss(x, y, c.options as Parameters<typeof mseLoss>[2]);
      expectWarnings(c.warnings, JSON.stringify(c.options));
      const want = mseLoss(x, y, { reduction: c.chosen });
      expect(identical(got, want), `${JSON.stringify(c.options)} -> ${c.chosen}`).toBe(true);
    },
  );

  it("the legacy warning is emitted once per distinct text", () => {
    for (const c of fx.legacy) {
      try {
        mseLoss(x, y, c.options as Parameters<typeof mseLoss>[2]);
      } catch {
        // a wrong mapping is reported by the case's own test above
      }
    }
    expect(warnings.take()).toEqual([]);
    for (const text of new Set(fx.legacy.flatMap((c) => c.warnings))) {
      expect(warnings.messages.filter((m) => m === text).length, text).toBe(1);
    }
  });

  it('"elementwise_mean" is the deprecated alias of "mean", warning once', () => {
    for (const c of fx.alias) {
      expect(c.chosen).toBe("mean");
      for (let i = 0; i < 3; i++) {
        const got = mseLoss(x, y, { reduction: "elementwise_mean" });
        expect(identical(got, mseLoss(x, y, { reduction: "mean" }))).toBe(true);
        for (const w of warnings.take()) expect(w.channel).toBe(expectedChannel());
      }
      // torch's text, exactly once in this module instance's life (whichever call emitted it)
      for (const text of c.warnings) expect(warnings.messages.filter((m) => m === text).length, text).toBe(1);
    }
  });

  it("the size-mismatch warning is emitted once per distinct message", () => {
    const a = { data: new Float64Array([1, 2, 3, 4, 5, 6, 7]), shape: [7] };
    const b = { data: new Float64Array([0.5]), shape: [1] };
    const torchText =
      "Using a target size (torch.Size([1])) that is different to the input size (torch.Size([7])). " +
      "This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.";
    for (let i = 0; i < 5; i++) mseLoss(a, b);
    expectWarnings([torchText], "[7] vs [1] x5");
    // exactly once in this module instance's life (whichever call emitted it)
    expect(warnings.messages.filter((m) => m === torchText).length).toBe(1);
  });

  it("broadcast: true silences the size-mismatch warning", () => {
    const a = { data: new Float64Array(6).fill(1), shape: [3, 2] };
    const b = { data: new Float64Array([1, 2]), shape: [2] };
    const torchText =
      "Using a target size (torch.Size([2])) that is different to the input size (torch.Size([3, 2])). " +
      "This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.";
    const silent = mseLoss(a, b, { broadcast: true });
    expect(warnings.take(), "broadcast: true").toEqual([]);
    // not silenced by once-ness: the same call without the option still warns
    const loud = mseLoss(a, b);
    expectWarnings([torchText], "[3, 2] vs [2] without broadcast option");
    expect(identical(silent, loud)).toBe(true);
    expect(silent).toBe(0.5);
  });

  it("broadcast: false demands equal shapes", () => {
    const a = { data: new Float64Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] };
    const b = { data: new Float64Array([1, 2, 3]), shape: [3] };
    let err: unknown;
    try {
      mseLoss(a, b, { broadcast: false });
    } catch (e) {
      err = e;
    }
    warnings.take();
    expect(err).toBeInstanceOf(ShapeError);
    expect(err).toBeInstanceOf(RangeError);
    const msg = (err as Error).message;
    expect(msg).toContain("mseLoss");
    expect(msg).toContain("[2, 3]");
    expect(msg).toContain("[3]");
    const same = mseLoss(a, { data: new Float64Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] }, { broadcast: false });
    expect(same).toBe(0);
    expect(warnings.take()).toEqual([]);
  });

  it.each(fx.errors.map((e) => [`${JSON.stringify(e.inputShape)} vs ${JSON.stringify(e.targetShape)}`, e] as const))(
    "incompatible shapes %s: warning first, then ShapeError in torch's words",
    (_name, e) => {
      const size = (s: number[]): number => s.reduce((p, d) => p * d, 1);
      const a = { data: new Float32Array(size(e.inputShape)), shape: e.inputShape };
      const b = { data: new Float32Array(size(e.targetShape)), shape: e.targetShape };
      for (const reduction of REDUCTIONS) {
        let err: unknown;
        try {
          mseLoss(a, b, { reduction });
        } catch (caught) {
          err = caught;
        }
        expectWarnings(e.warnings, `${_name} ${reduction}`);
        expect(err, `${_name} ${reduction}`).toBeInstanceOf(ShapeError);
        expect(err).toBeInstanceOf(RangeError);
        expect((err as Error).name).toBe("ShapeError");
        expect((err as Error).message).toContain(e.message);
        expect((err as Error).message).toContain("mseLoss");
      }
      // broadcast: true does not make incompatible shapes work
      expect(() => mseLoss(a, b, { broadcast: true })).toThrow(ShapeError);
      expect(warnings.take()).toEqual([]);
    },
  );

  it("an unknown reduction is a RangeError in torch's words", () => {
    for (const c of fx.invalidReduction) {
      let err: unknown;
      try {
        mseLoss([1], [2], { reduction: c.reduction as Reduction });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RangeError);
      const msg = (err as Error).message;
      // torch: "avg is not a valid value for reduction"; API.md quotes the value
      expect(msg).toContain(`"${c.reduction}" is not a valid value for reduction`);
      expect(c.message).toBe(`${c.reduction} is not a valid value for reduction`);
      expect(msg).toContain("mseLoss");
    }
    expect(warnings.take()).toEqual([]);
  });
});

// ------------------------------------------------------------------ argument forms

type Form = "tensor-like" | "typed array" | "number[] data" | "nested" | "number" | "WasmTensor";

function formsOf(t: Decoded): Form[] {
  const forms: Form[] = ["tensor-like", "WasmTensor"];
  if (t.shape.length === 1) forms.push("typed array");
  if (t.data instanceof Float64Array) {
    forms.push("number[] data");
    if (t.shape.length >= 1) forms.push("nested");
    if (t.shape.length === 0) forms.push("number");
  }
  return forms;
}

interface Built {
  arg: unknown;
  dispose(): void;
}

function build(t: Decoded, form: Form): Built {
  const none = { dispose(): void {} };
  switch (form) {
    case "tensor-like":
      return { arg: { data: t.data.slice(), shape: [...t.shape] }, ...none };
    case "typed array":
      return { arg: t.data.slice(), ...none };
    case "number[] data":
      return { arg: { data: Array.from(t.data), shape: [...t.shape] }, ...none };
    case "nested":
      return { arg: nest(Array.from(t.data), t.shape), ...none };
    case "number":
      return { arg: t.data[0], ...none };
    case "WasmTensor": {
      const w = alloc(t.data instanceof Float32Array ? "float32" : "float64", t.shape);
      w.view.set(t.data);
      return { arg: w, dispose: () => w.dispose() };
    }
  }
}

describe("every array-argument form gives the same result", () => {
  const picked = fx.cases.filter((c) =>
    ["seed-3x3 float64", "seed-4 float32", "len 17 float64", "len 129 float32", "rank 0 [] float64",
      "rank 0 [] float32", "rank 3 [3, 5, 7] float64", "broadcast [3, 1] vs [1, 4] float64",
      "broadcast [] vs [2, 3] float64", "mixed [3] float32 vs [3] float64", "mixed [] float64 vs [4] float32",
      "empty [2, 0] vs [2, 0] float64"].includes(c.name),
  );

  it("picked all cases", () => {
    expect(picked.length).toBe(12);
  });

  it.each(picked.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const x = tensor(c.input);
    const y = tensor(c.target);
    for (const reduction of REDUCTIONS) {
      const want = mseLoss(x, y, { reduction });
      for (const fi of formsOf(x)) {
        for (const ft of formsOf(y)) {
          const a = build(x, fi);
          const b = build(y, ft);
          try {
            const got = mseLoss(a.arg as Decoded, b.arg as Decoded, { reduction });
            expect(identical(got, want), `${c.name} ${reduction}: input as ${fi}, target as ${ft}`).toBe(true);
          } finally {
            a.dispose();
            b.dispose();
          }
        }
      }
    }
    warnings.take();
  });

  it("a bare number is a rank-0 float64 tensor", () => {
    const none = asTensor(mseLoss(3, 1, { reduction: "none" }), "none");
    expect(none.shape).toEqual([]);
    expect(none.data).toBeInstanceOf(Float64Array);
    expect(Array.from(none.data)).toEqual([4]);
    expect(mseLoss(3, 1)).toBe(4);
    // rank-0 float64 with float32 data promotes (as F.mse_loss does)
    const mixed = asTensor(mseLoss(new Float32Array([1, 2]), 0.5, { reduction: "none" }), "mixed");
    expect(mixed.data).toBeInstanceOf(Float64Array);
    expect(mixed.shape).toEqual([2]);
    warnings.take();
  });
});

describe("inputs are never modified", () => {
  it("no reduction, option or form writes into its arguments", () => {
    const c = fx.cases.find((k) => k.name === "broadcast [2, 1, 3] vs [4, 1] float32")!;
    const x = tensor(c.input);
    const y = tensor(c.target);
    const xs = x.data.slice();
    const ys = y.data.slice();
    const nestedX = nest(Array.from(x.data), x.shape);
    const nestedCopy = JSON.stringify(nestedX);
    for (const reduction of REDUCTIONS) {
      mseLoss(x, y, { reduction });
      mseLoss(nestedX as number[], y, { reduction });
    }
    mseLoss(x, y, { axis: [0, -1], keepdims: true });
    expect(Array.from(x.data)).toEqual(Array.from(xs));
    expect(Array.from(y.data)).toEqual(Array.from(ys));
    expect(x.shape).toEqual(c.input.shape);
    expect(y.shape).toEqual(c.target.shape);
    expect(JSON.stringify(nestedX)).toBe(nestedCopy);
    warnings.take();
  });
});
