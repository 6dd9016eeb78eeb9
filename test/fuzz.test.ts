// Bad-input fuzzing: arbitrary JS values in every argument and option position. Each
// call either throws a TypeError / RangeError / ShapeError whose message names the
// function and the argument, or works where API.md says it should (SharedArrayBuffer
// and offset views, frozen arrays, NaN elements); and after every failure the next
// valid call gives the right answer with the wasm heap back at its baseline.

import * as fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import * as lib from "../ts/index.js";
import type { Lib } from "./forms.js";
import { describeResult, envVar, isOutTensor } from "./forms.js";
import type { RefArray } from "./reference.js";
import { broadcastMismatch, close, refLoss } from "./reference.js";
import { captureWarnings } from "./helpers/warnings.js";

const SEED = Number(envVar("FUZZ_SEED") ?? "") || 0xf022;
const RUNS = Math.max(50, Math.round((Number(envVar("FUZZ_RUNS") ?? "") || 1500) / 5));

let baseline = 0;

beforeAll(async () => {
  captureWarnings();
  await lib.init();
  baseline = lib.heapStats().allocatedBytes;
});

const SEED_INPUT = [
  [1, 2, 3],
  [4, 5, 6],
  [7, 8, 9],
];
const SEED_TARGET = [
  [1, 4, 6],
  [2, 5, 3],
  [4, 7, 8],
];

/** After any failure: the next valid call is right and nothing stayed allocated. */
function expectRecovered(what: string): void {
  expect(lib.heapStats().allocatedBytes, `${what}: allocatedBytes after the call`).toBe(baseline);
  expect(lib.mseLoss(SEED_INPUT, SEED_TARGET, { reduction: "sum" }), `${what}: the next valid call`).toBe(37);
  expect(lib.mseLoss(Float32Array.of(0.5, 1.5), Float32Array.of(0, 0), { reduction: "none" })).toEqual({
    data: Float32Array.of(0.25, 2.25),
    shape: [2],
  });
  expect(lib.heapStats().allocatedBytes, `${what}: allocatedBytes after the next call`).toBe(baseline);
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

function attempt(fn: () => unknown): Outcome {
  try {
    return { ok: true, value: fn() };
  } catch (error) {
    return { ok: false, error };
  }
}

const ERROR_CLASSES = [TypeError, RangeError] as const;

/** Runs one check and records its failure, so a test reports every failing case at once. */
function soft(problems: string[], fn: () => void): void {
  try {
    fn();
  } catch (e) {
    problems.push(e instanceof Error ? e.message.split("\n")[0]! : String(e));
  }
}

/** A rejection in API.md's terms: TypeError or RangeError (ShapeError is one), naming fn and the argument. */
function expectRejected(o: Outcome, fnNames: readonly string[], argNames: readonly string[], what: string): Error {
  if (o.ok) throw new Error(`${what}: expected an error, got ${describeResult(o.value)}`);
  const e = o.error;
  expect(
    ERROR_CLASSES.some((c) => e instanceof c),
    `${what}: threw ${String(e)} (${(e as Error)?.constructor?.name}), expected TypeError or RangeError`,
  ).toBe(true);
  const message = (e as Error).message;
  expect(
    fnNames.some((n) => message.includes(n)),
    `${what}: message "${message}" names none of ${fnNames.join(", ")}`,
  ).toBe(true);
  expect(
    argNames.some((n) => message.includes(n)),
    `${what}: message "${message}" names none of ${argNames.join(", ")}`,
  ).toBe(true);
  return e as Error;
}

// ---------------------------------------------------------------------------
// The call sites: every function that takes array arguments and options

interface Site {
  name: string;
  fnNames: string[];
  /** how the message may name the first and the second argument */
  argNames?: [string[], string[]];
  call(l: Lib, input: unknown, target: unknown, options?: unknown): unknown;
  gradOutput: boolean;
}

const SITES: Site[] = [
  { name: "mseLoss", fnNames: ["mseLoss"], gradOutput: false, call: (l, i, t, o) => l.mseLoss(i as never, t as never, o as never) },
  {
    name: "mseLossBackward",
    fnNames: ["mseLossBackward"],
    gradOutput: true,
    call: (l, i, t, o) => l.mseLossBackward(i as never, t as never, o as never),
  },
  {
    name: "mseLossWithGrad",
    fnNames: ["mseLossWithGrad"],
    gradOutput: true,
    call: (l, i, t, o) => l.mseLossWithGrad(i as never, t as never, o as never),
  },
  {
    name: "MSELoss.forward",
    fnNames: ["MSELoss"],
    gradOutput: false,
    call: (l, i, t, o) => new l.MSELoss(o as never).forward(i as never, t as never),
  },
  {
    name: "MeanSquaredError.update",
    fnNames: ["MeanSquaredError", "update"],
    argNames: [["pred", "input"], ["target"]],
    gradOutput: false,
    call: (l, i, t, o) => {
      if (o !== undefined) throw new Error("no options here");
      const m = new l.MeanSquaredError();
      m.update(i as never, t as never);
      return m.compute();
    },
  },
];

// ---------------------------------------------------------------------------
// A catalogue of bad array arguments

function detachedFloat32(n: number): Float32Array | null {
  const buffer = new ArrayBuffer(n * 4);
  const view = new Float32Array(buffer);
  view.fill(1);
  const g = globalThis as { structuredClone?: (v: unknown, o: unknown) => unknown };
  const transfer = (ArrayBuffer.prototype as { transfer?: () => ArrayBuffer }).transfer;
  if (typeof transfer === "function") transfer.call(buffer);
  else if (typeof g.structuredClone === "function") g.structuredClone(buffer, { transfer: [buffer] });
  else return null;
  return view;
}

function throwingArray(): number[] {
  const a = [1, 2, 3];
  Object.defineProperty(a, 1, {
    get() {
      throw new Error("element getter threw");
    },
  });
  return a;
}

class LyingShort extends Float32Array {
  override get length(): number {
    return 1;
  }
}
class LyingLong extends Float32Array {
  override get length(): number {
    return 1e9;
  }
}

function deepNested(depth: number): unknown {
  let a: unknown = [1];
  for (let i = 1; i < depth; i++) a = [a];
  return a;
}

function selfReferential(): unknown {
  const a: unknown[] = [];
  a.push(a);
  return a;
}

/** Bad array arguments: each must be rejected with the argument's name. */
function badArrays(): Array<[string, () => unknown]> {
  const list: Array<[string, () => unknown]> = [
    ["null", () => null],
    ["a string", () => "1,2,3"],
    ["a numeric string", () => "3"],
    ["true", () => true],
    ["a symbol", () => Symbol("x")],
    ["a bigint", () => 3n],
    ["a function", () => () => 1],
    ["an empty object", () => ({})],
    ["an array-like with a lying length", () => ({ length: 3, 0: 1, 1: 2, 2: 3 })],
    ["a Map", () => new Map([[0, 1]])],
    ["a boxed number", () => new Number(3)],
    ["an Int32Array", () => Int32Array.of(1, 2, 3)],
    ["a Uint8Array", () => Uint8Array.of(1, 2, 3)],
    ["a BigInt64Array", () => BigInt64Array.of(1n, 2n, 3n)],
    ["a DataView", () => new DataView(new ArrayBuffer(12))],
    ["an ArrayBuffer", () => new ArrayBuffer(12)],
    ["a string element", () => [1, "2", 3]],
    ["a null element", () => [1, null, 3]],
    ["a boolean element", () => [1, true, 3]],
    ["a bigint element", () => [1, 2n, 3]],
    ["an undefined element", () => [1, undefined, 3]],
    ["a boxed element", () => [1, new Number(2), 3]],
    ["a hole", () => [1, , 3]], // eslint-disable-line no-sparse-arrays
    ["ragged nesting", () => [[1, 2], [3]]],
    ["a number beside a row", () => [[1, 2], 3]],
    ["a row beside a number", () => [1, [2, 3]]],
    ["a typed array inside a nested array", () => [Float64Array.of(1, 2), Float64Array.of(3, 4)]],
    ["nesting of depth 9", () => deepNested(9)],
    ["nesting of depth 100000", () => deepNested(100_000)],
    ["a self-referential array", selfReferential],
    ["a Proxy array with a lying length", () => new Proxy([1, 2, 3], { get: (t, k) => (k === "length" ? 10 : Reflect.get(t, k)) })],
    ["a shape whose product differs from data.length", () => ({ data: [1, 2, 3], shape: [2, 2] })],
    ["a NaN dim", () => ({ data: [1, 2, 3], shape: [Number.NaN] })],
    ["an Infinity dim", () => ({ data: [1, 2, 3], shape: [Infinity] })],
    ["a negative dim", () => ({ data: [1, 2, 3], shape: [-3] })],
    ["a negative dim pair", () => ({ data: [1, 2, 3, 4], shape: [-2, -2] })],
    ["a fractional dim", () => ({ data: [1, 2, 3], shape: [1.5, 2] })],
    ["a string dim", () => ({ data: [1, 2, 3], shape: ["3"] })],
    ["a bigint dim", () => ({ data: [1, 2, 3], shape: [3n] })],
    ["rank 9", () => ({ data: [1], shape: [1, 1, 1, 1, 1, 1, 1, 1, 1] })],
    ["rank 1e5", () => ({ data: [1], shape: new Array(100_000).fill(1) })],
    ["a string shape", () => ({ data: [1, 2, 3], shape: "3" })],
    ["a null shape", () => ({ data: [1, 2, 3], shape: null })],
    ["an array-like shape", () => ({ data: [1, 2, 3], shape: { length: 1, 0: 3 } })],
    ["a missing shape", () => ({ data: Float32Array.of(1, 2, 3) })],
    ["a shape of 2^53", () => ({ data: [1], shape: [2 ** 53] })],
    ["Infinity elements claimed", () => ({ data: [1], shape: [2 ** 31, 2 ** 31] })],
    ["string data", () => ({ data: "abc", shape: [3] })],
    ["Int32Array data", () => ({ data: Int32Array.of(1, 2, 3), shape: [3] })],
    ["data with a string", () => ({ data: [1, "2", 3], shape: [3] })],
    ["nested data", () => ({ data: [[1, 2, 3]], shape: [3] })],
    ["null data", () => ({ data: null, shape: [3] })],
    ["a fake WasmTensor", () => ({ view: Float32Array.of(1, 2, 3), shape: [3], dtype: "float32", ptr: 16 })],
    // instanceof Float32Array holds for these, and the typed-array getters throw on them
    ["a Proxy of a Float32Array", () => new Proxy(Float32Array.of(1, 2, 3), {})],
    ["a Proxy of a Float64Array", () => new Proxy(Float64Array.of(1, 2, 3), {})],
    ["an object made from Float32Array.prototype", () => Object.create(Float32Array.prototype) as unknown],
  ];
  return list;
}

/** Arguments whose reading throws: the library may let the error through or wrap it, but must recover. */
function throwingArrays(): Array<[string, () => unknown]> {
  return [
    ["an array whose element getter throws", throwingArray],
    [
      "a tensor-like whose data getter throws",
      () => ({
        get data(): never {
          throw new Error("data getter threw");
        },
        shape: [3],
      }),
    ],
    [
      "a tensor-like whose shape getter throws",
      () => ({
        data: [1, 2, 3],
        get shape(): never {
          throw new Error("shape getter threw");
        },
      }),
    ],
    [
      "a Proxy whose every trap throws",
      () =>
        new Proxy(
          {},
          {
            get() {
              throw new Error("proxy get threw");
            },
            has() {
              throw new Error("proxy has threw");
            },
            getPrototypeOf() {
              throw new Error("proxy getPrototypeOf threw");
            },
            ownKeys() {
              throw new Error("proxy ownKeys threw");
            },
          },
        ),
    ],
  ];
}

const VALID_TARGET = Float64Array.of(0.5, -1, 2);

function argNamesOf(site: Site, position: "input" | "target"): string[] {
  return site.argNames ? site.argNames[position === "input" ? 0 : 1] : [position];
}

describe("bad array arguments in every position", () => {
  for (const site of SITES) {
    for (const position of ["input", "target"] as const) {
      it(`${site.name}: ${position}`, () => {
        for (const [label, make] of badArrays()) {
          const bad = make();
          const what = `${site.name} with ${label} as ${position}`;
          const o = attempt(() => (position === "input" ? site.call(lib, bad, VALID_TARGET) : site.call(lib, VALID_TARGET, bad)));
          expectRejected(o, site.fnNames, argNamesOf(site, position), what);
          expectRecovered(what);
        }
        for (const [label, make] of throwingArrays()) {
          const bad = make();
          const what = `${site.name} with ${label} as ${position}`;
          const o = attempt(() => (position === "input" ? site.call(lib, bad, VALID_TARGET) : site.call(lib, VALID_TARGET, bad)));
          expect(o.ok, `${what}: returned ${o.ok ? describeResult(o.value) : ""}`).toBe(false);
          expectRecovered(what);
        }
        const missing = attempt(() => (position === "input" ? site.call(lib, undefined, VALID_TARGET) : site.call(lib, VALID_TARGET, undefined)));
        expectRejected(missing, site.fnNames, argNamesOf(site, position), `${site.name} with ${position} undefined`);
        expectRecovered(`${site.name} with ${position} undefined`);
      });
    }
  }

  for (const position of ["weight", "gradOutput", "out"] as const) {
    it(`mseLossBackward / mseLossWithGrad / mseLoss: options.${position}`, () => {
      // `out`: the gradient functions' gradient, mseLoss's "none" result
      const sites = SITES.filter(
        (s) => s.name !== "MeanSquaredError.update" && (position === "weight" || s.gradOutput || (position === "out" && s.name === "mseLoss")),
      );
      for (const site of sites) {
        for (const [label, make] of badArrays()) {
          const what = `${site.name} with ${label} as ${position}`;
          const options = { reduction: "none", [position]: make() };
          const o = attempt(() => site.call(lib, VALID_TARGET, VALID_TARGET, options));
          if (label === "null" && o.ok) {
            // PyTorch's weight=None: a null option may mean "absent"; then it must equal the default
            expect(o.value, what).toEqual(site.call(lib, VALID_TARGET, VALID_TARGET, { reduction: "none" }));
          } else {
            expectRejected(o, site.fnNames, [position], what);
          }
          expectRecovered(what);
        }
        for (const [label, make] of throwingArrays()) {
          const what = `${site.name} with ${label} as ${position}`;
          const o = attempt(() => site.call(lib, VALID_TARGET, VALID_TARGET, { reduction: "none", [position]: make() }));
          expect(o.ok, what).toBe(false);
          expectRecovered(what);
        }
      }
    });
  }

  it("detached ArrayBuffers are rejected naming the argument, not read as empty", () => {
    const problems: string[] = [];
    for (const site of SITES) {
      for (const position of ["input", "target"] as const) {
        const other = Float32Array.of(1, 2, 3);
        const empty = new Float32Array(0);
        const forms: Array<[string, () => unknown, Float32Array]> = [
          ["a detached Float32Array", () => detachedFloat32(3), other],
          ["a tensor-like over a detached buffer", () => ({ data: detachedFloat32(3), shape: [3] }), other],
          // beside an empty operand a detached view must not pass for an empty one
          ["a detached Float32Array beside an empty one", () => detachedFloat32(3), empty],
        ];
        for (const [label, make, partner] of forms) {
          const bad = make();
          const what = `${site.name} with ${label} as ${position}`;
          soft(problems, () => {
            const o = attempt(() => (position === "input" ? site.call(lib, bad, partner) : site.call(lib, partner, bad)));
            expectRejected(o, site.fnNames, argNamesOf(site, position), what);
          });
          expectRecovered(what);
        }
      }
    }
    expect(detachedFloat32(3)?.buffer.byteLength, "this runtime cannot detach an ArrayBuffer").toBe(0);
    expect(problems).toEqual([]);
  });

  it("a Proxy of a Float32Array beside Float32Arrays of every direct-path length is rejected naming the argument", () => {
    // The direct paths test plain typed-array pairs first (tiny ones, up to a chunk, longer
    // ones); a Proxy passes their instanceof tests and must still end as a TypeError of ours.
    const problems: string[] = [];
    for (const site of SITES) {
      for (const position of ["input", "target"] as const) {
        for (const n of [1, 16, 17, 20_000]) {
          const bad = new Proxy(new Float32Array(n).fill(1), {});
          const partner = new Float32Array(n);
          const what = `${site.name} with a Proxy of a Float32Array(${n}) as ${position}`;
          soft(problems, () => {
            const o = attempt(() => (position === "input" ? site.call(lib, bad, partner) : site.call(lib, partner, bad)));
            const e = expectRejected(o, site.fnNames, argNamesOf(site, position), what);
            expect(e, what).toBeInstanceOf(TypeError);
            expect(e.message, what).toContain("Proxy");
          });
          expectRecovered(what);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("typed-array subclasses that lie about their length: the true length is used, or the argument is rejected", () => {
    const problems: string[] = [];
    // 4: the JS replay; 100 and 5000: one TypedArray#set; 20000: chunked copies (more than
    // one 64 KiB chunk of float32: plain arrays only).
    for (const n of [4, 100, 5000, 20000]) {
      for (const Lying of [LyingShort, LyingLong]) {
        const x = new Lying(n);
        const v = (i: number): number => (i % 64) + 1;
        for (let i = 0; i < n; i++) x[i] = v(i);
        const y = new Float32Array(n);
        // Small integers: every square and partial sum is exact, so the mean is sum / n.
        let sum = 0;
        for (let i = 0; i < n; i++) sum += v(i) * v(i);
        const mean = sum / n;
        const grad = Array.from({ length: n }, (_, i) => Math.fround(v(i) * Math.fround(2 / n)));
        for (const site of SITES) {
          const what = `${site.name} with a ${Lying.name} input of ${n} elements`;
          soft(problems, () => {
            const o = attempt(() => site.call(lib, x, y));
            if (o.ok) {
              if (typeof o.value === "number") expect(o.value, what).toBe(mean);
              const g = site.name === "mseLossWithGrad" ? (o.value as { grad: unknown }).grad : site.name === "mseLossBackward" ? o.value : null;
              if (g !== null) expect(Array.from((g as { data: Float32Array }).data), what).toEqual(grad);
            } else {
              expectRejected(o, site.fnNames, argNamesOf(site, "input"), what);
            }
          });
          expectRecovered(what);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("a shape getter that answers differently on each read never reads out of bounds", () => {
    let reads = 0;
    const shifty = {
      data: Float64Array.of(1, 2, 3, 4),
      get shape(): number[] {
        reads++;
        return reads === 1 ? [2, 2] : [100];
      },
    };
    const target = { data: Float64Array.of(0, 0, 0, 0), shape: [2, 2] };
    const o = attempt(() => lib.mseLoss(shifty, target, { reduction: "sum" }));
    if (o.ok) expect(o.value).toBe(30);
    else expectRejected(o, ["mseLoss"], ["input"], "shifting shape");
    expectRecovered("shifting shape");
  });
});

// ---------------------------------------------------------------------------
// Inputs API.md says must work

describe("unusual but valid inputs work", () => {
  it("typed arrays over SharedArrayBuffer (where the runtime has it)", () => {
    // The browser project serves its pages cross-origin isolated (vitest.config.ts), so
    // every runtime here has SharedArrayBuffer.
    expect(typeof SharedArrayBuffer, "SharedArrayBuffer is missing").toBe("function");
    const a = new Float32Array(new SharedArrayBuffer(4 * 4));
    a.set([0.1, 0.2, 0.4, 0.8]);
    const b = new Float64Array(new SharedArrayBuffer(8 * 8), 8, 4);
    b.set([0, 0.4, 0.3, 0.3]);
    const w = new Float32Array(new SharedArrayBuffer(16));
    w.set([1, 2, 3, 4]);
    const ra: RefArray = { values: Array.from(a), shape: [4], dtype: "float32" };
    const rb: RefArray = { values: Array.from(b), shape: [4], dtype: "float64" };
    const rw: RefArray = { values: Array.from(w), shape: [4], dtype: "float32" };
    for (const reduction of ["mean", "sum"] as const) {
      const want = refLoss(ra, rb, { reduction });
      const got = lib.mseLoss(a, b, { reduction });
      expect(close(got as number, want as { value: number; mag: number }, 1e-13, "float64"), `${reduction}: ${String(got)}`).toBe(true);
      const sab32 = lib.mseLoss(a, { data: a, shape: [4] }, { reduction, weight: w });
      expect(sab32).toBe(0);
    }
    const wantW = refLoss(ra, rb, { reduction: "sum" }, rw);
    const gotW = lib.mseLoss(a, b, { reduction: "sum", weight: { data: w, shape: [4] } });
    expect(close(gotW as number, wantW as { value: number; mag: number }, 1e-13, "float64")).toBe(true);
    const grad = lib.mseLossBackward(a, b, { reduction: "sum" });
    expect(Array.from(grad.data)).toEqual(Array.from(a).map((x, i) => Math.fround(2 * (x - b[i]!))));
    expectRecovered("SharedArrayBuffer");
  });

  it("subarray views at unaligned offsets read exactly their elements", () => {
    for (const n of [1, 3, 15, 16, 17, 33, 129, 1000]) {
      for (const offset of [1, 2, 3, 5]) {
        const big32 = new Float32Array(n + offset + 3).fill(1e30);
        const big64 = new Float64Array(n + offset + 3).fill(1e30);
        for (let i = 0; i < n; i++) {
          big32[offset + i] = (i % 7) - 3;
          big64[offset + i] = (i % 5) * 0.5;
        }
        const a = big32.subarray(offset, offset + n);
        const b = big64.subarray(offset, offset + n);
        let want = 0;
        for (let i = 0; i < n; i++) want += (a[i]! - b[i]!) ** 2;
        expect(lib.mseLoss(a, b, { reduction: "sum" }), `n ${n} offset ${offset}`).toBe(want);
        let outer = 0; // small integers and halves: every partial sum is exact
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) outer += (a[i]! - b[j]!) ** 2;
        expect(lib.mseLoss({ data: a, shape: [n, 1] }, { data: b, shape: [n] }, { reduction: "sum", broadcast: true }), `n ${n} offset ${offset} broadcast`).toBe(outer);
        const none = lib.mseLoss(a, a, { reduction: "none" });
        expect(Array.from((none as { data: Float32Array }).data)).toEqual(new Array(n).fill(0));
      }
    }
    expectRecovered("subarrays");
  });

  it("typed arrays over a resizable ArrayBuffer (where the runtime has them)", () => {
    const Ctor = ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer;
    const buffer = new Ctor(16, { maxByteLength: 64 });
    // Node >= 20, Chromium and Deno all have resizable buffers.
    expect("resizable" in buffer, "this runtime has no resizable ArrayBuffer").toBe(true);
    const tracking = new Float32Array(buffer);
    tracking.set([1, 2, 3, 4]);
    expect(lib.mseLoss(tracking, Float32Array.of(0, 0, 0, 0), { reduction: "sum" })).toBe(30);
    (buffer as unknown as { resize(n: number): void }).resize(8);
    expect(lib.mseLoss(tracking, Float32Array.of(0, 0), { reduction: "sum" })).toBe(5);
    expectRecovered("resizable");
  });

  it("frozen arrays, frozen tensor-likes, frozen options", () => {
    const deepFreeze = <T>(x: T): T => {
      if (Array.isArray(x)) x.forEach(deepFreeze);
      return Object.freeze(x);
    };
    const input = deepFreeze(SEED_INPUT.map((r) => r.slice()));
    const target = deepFreeze(SEED_TARGET.map((r) => r.slice()));
    const options = Object.freeze({ reduction: "sum" as const, axis: Object.freeze([0]) as unknown as number[], keepdims: false });
    expect(lib.mseLoss(input, target, { reduction: "sum" })).toBe(37);
    const byColumn = lib.mseLoss(input, target, options);
    expect(byColumn).toEqual({ data: Float64Array.of(13, 5, 19), shape: [3] });
    const tl = Object.freeze({ data: Object.freeze([1, 2, 3]), shape: Object.freeze([3]) });
    expect(lib.mseLoss(tl as never, tl as never, Object.freeze({ reduction: "sum" as const }))).toBe(0);
    const g = lib.mseLossBackward(input, target, Object.freeze({ reduction: "sum" as const, gradOutput: 2 }));
    expect(Array.from(g.data)).toEqual([0, -8, -12, 8, 0, 12, 12, 4, 4]);
    const criterion = new lib.MSELoss(Object.freeze({ reduction: "none" as const, weight: Object.freeze([1, 0, 2]) }));
    expect(Array.from((criterion.forward(input, target) as { data: Float64Array }).data)).toEqual([0, 0, 18, 4, 0, 18, 9, 0, 2]);
    expectRecovered("frozen");
  });

  it("NaN and infinite elements are numbers: they propagate", () => {
    expect(lib.mseLoss([1, Number.NaN], [1, 2])).toBeNaN();
    expect(lib.mseLoss([Infinity, 0], [0, 0], { reduction: "sum" })).toBe(Infinity);
    expect(lib.mseLoss([Infinity], [Infinity])).toBeNaN();
    const none = lib.mseLoss(Float32Array.of(-Infinity, 1), Float32Array.of(0, 1), { reduction: "none" }) as { data: Float32Array };
    expect(Array.from(none.data)).toEqual([Infinity, 0]);
    expectRecovered("NaN elements");
  });

});

// ---------------------------------------------------------------------------
// Options

type OptionCase = [label: string, options: unknown, argNames: string[]];

/** Axis values whose validity depends on the loss rank: MSELoss can only reject them at forward. */
const RANK_DEPENDENT = new Set(["axis: 2", "axis: -3", "axis: 1e9", "axis: 2^32", "axis: [1, -1]"]);

function badOptions(): OptionCase[] {
  return [
    ["options: a string", "sum", ["options"]],
    ["options: a number", 5, ["options"]],
    ["options: true", true, ["options"]],
    ["options: an array", ["sum"], ["options"]],
    ["options: a function", () => 1, ["options"]],
    ["options: a symbol", Symbol("o"), ["options"]],
    ['reduction: "avg"', { reduction: "avg" }, ['"avg" is not a valid value for reduction']],
    ['reduction: "SUM"', { reduction: "SUM" }, ['"SUM" is not a valid value for reduction']],
    ['reduction: ""', { reduction: "" }, ["reduction"]],
    ['reduction: "constructor"', { reduction: "constructor" }, ['"constructor" is not a valid value for reduction']],
    ['reduction: "__proto__"', { reduction: "__proto__" }, ["reduction"]],
    ['reduction: "toString"', { reduction: "toString" }, ["reduction"]],
    ["reduction: 1", { reduction: 1 }, ["reduction"]],
    ["reduction: null", { reduction: null }, ["reduction"]],
    ["reduction: an object", { reduction: { toString: () => "sum" } }, ["reduction"]],
    ["reduction: a boxed string", { reduction: new String("sum") }, ["reduction"]],
    ['sizeAverage: "yes"', { sizeAverage: "yes" }, ["sizeAverage"]],
    ["sizeAverage: 1", { sizeAverage: 1 }, ["sizeAverage"]],
    ["reduce: 0", { reduce: 0 }, ["reduce"]],
    ['reduce: "false"', { reduce: "false" }, ["reduce"]],
    ['broadcast: "true"', { broadcast: "true" }, ["broadcast"]],
    ["broadcast: 1", { broadcast: 1 }, ["broadcast"]],
    ['keepdims: "yes"', { keepdims: "yes", axis: 0 }, ["keepdims"]],
    ['axis: "0"', { axis: "0" }, ["axis"]],
    ["axis: NaN", { axis: Number.NaN }, ["axis"]],
    ["axis: Infinity", { axis: Infinity }, ["axis"]],
    ["axis: -Infinity", { axis: -Infinity }, ["axis"]],
    ["axis: 0.5", { axis: 0.5 }, ["axis"]],
    ["axis: 2", { axis: 2 }, ["axis"]],
    ["axis: -3", { axis: -3 }, ["axis"]],
    ["axis: 1e9", { axis: 1e9 }, ["axis"]],
    ["axis: 2^32", { axis: 2 ** 32 }, ["axis"]],
    ["axis: [0, 0]", { axis: [0, 0] }, ["axis"]],
    ["axis: [1, -1]", { axis: [1, -1] }, ["axis"]],
    ['axis: [0, "1"]', { axis: [0, "1"] }, ["axis"]],
    ["axis: [0, null]", { axis: [0, null] }, ["axis"]],
    ["axis: [[0]]", { axis: [[0]] }, ["axis"]],
    ["axis: an object", { axis: { 0: 0, length: 1 } }, ["axis"]],
    ["axis: a bigint", { axis: 0n }, ["axis"]],
    ["axis: a Int32Array", { axis: Int32Array.of(0) }, ["axis"]],
    ['axis with reduction "none"', { axis: 0, reduction: "none" }, ["axis"]],
    ["axis with reduce: false", { axis: 0, reduce: false }, ["axis"]],
  ];
}

describe("bad options in every position", () => {
  const x = { data: Float64Array.of(1, 2, 3, 4, 5, 6), shape: [2, 3] };
  const y = { data: Float64Array.of(0, 1, 0, 1, 0, 1), shape: [2, 3] };
  for (const site of SITES.filter((s) => s.name !== "MeanSquaredError.update")) {
    it(`${site.name}`, () => {
      for (const [label, options, argNames] of badOptions()) {
        const what = `${site.name} with ${label}`;
        expectRejected(
          attempt(() => site.call(lib, x, y, options)),
          site.fnNames,
          argNames,
          what,
        );
        expectRecovered(what);
      }
      const throwing = {
        get reduction(): string {
          throw new Error("reduction getter threw");
        },
      };
      expect(attempt(() => site.call(lib, x, y, throwing)).ok).toBe(false);
      expectRecovered(`${site.name} with a throwing getter`);
      // null and {} and a frozen empty object: the defaults (or, for null, a TypeError naming options)
      const n = attempt(() => site.call(lib, x, y, null));
      if (n.ok) expect(n.value).toEqual(site.call(lib, x, y));
      else expectRejected(n, site.fnNames, ["options"], `${site.name} with options null`);
      expect(site.call(lib, x, y, {})).toEqual(site.call(lib, x, y));
      expect(site.call(lib, x, y, Object.freeze({}))).toEqual(site.call(lib, x, y));
      expectRecovered(`${site.name} with empty options`);
    });
  }

  it("the MSELoss constructor validates its options", () => {
    const problems: string[] = [];
    for (const [label, options, argNames] of badOptions()) {
      if (RANK_DEPENDENT.has(label)) continue;
      soft(problems, () => expectRejected(attempt(() => new lib.MSELoss(options as never)), ["MSELoss"], argNames, `new MSELoss with ${label}`));
    }
    expectRecovered("MSELoss constructor");
    expect(problems).toEqual([]);
  });
});

// ---------------------------------------------------------------------------
// Arbitrary values (fast-check's `anything`) in each position, judged by API.md

/** API.md's reading of an array argument, independent of the library: a RefArray, or null when invalid. */
function interpret(v: unknown): RefArray | null | "unknown" {
  if (typeof v === "number") return { values: [v], shape: [], dtype: "float64" };
  if (v instanceof Float32Array) return { values: Array.from(v), shape: [v.length], dtype: "float32" };
  if (v instanceof Float64Array) return { values: Array.from(v), shape: [v.length], dtype: "float64" };
  if (Array.isArray(v)) {
    const shape: number[] = [];
    let probe: unknown = v;
    while (Array.isArray(probe)) {
      shape.push(probe.length);
      if (shape.length > 8) return null;
      probe = probe[0];
    }
    const values: number[] = [];
    const walk = (x: unknown, dim: number): boolean => {
      if (dim === shape.length) {
        if (typeof x !== "number") return false;
        values.push(x);
        return true;
      }
      if (!Array.isArray(x) || x.length !== shape[dim]) return false;
      for (let i = 0; i < x.length; i++) if (!(i in x) || !walk(x[i], dim + 1)) return false;
      return true;
    };
    if (!walk(v, 0)) return null;
    return { values, shape, dtype: "float64" };
  }
  if (typeof v === "object" && v !== null && "data" in v && "shape" in v) return "unknown";
  return null;
}

const anything = fc.anything({
  maxDepth: 3,
  maxKeys: 4,
  withBigInt: true,
  withBoxedValues: true,
  withMap: true,
  withSet: true,
  withDate: true,
  withTypedArray: true,
  withSparseArray: true,
  withNullPrototype: true,
  withObjectString: true,
});

const arrayish = fc.oneof(
  anything,
  fc.array(fc.oneof(fc.double(), fc.constant("1"), fc.constant(null)), { maxLength: 4 }),
  fc.array(fc.array(fc.double({ noNaN: true }), { minLength: 0, maxLength: 3 }), { maxLength: 3 }),
  fc.float32Array({ maxLength: 5 }),
  fc.float64Array({ maxLength: 5 }),
);

describe("arbitrary values (fast-check anything)", () => {
  it(`input and target: rejected, or computed as API.md reads them (${RUNS} cases)`, () => {
    fc.assert(
      fc.property(arrayish, fc.boolean(), (v, asTarget) => {
        const meaning = interpret(v);
        const other = 0.5;
        const o = attempt(() => (asTarget ? lib.mseLoss(other, v as never, { reduction: "sum" }) : lib.mseLoss(v as never, other, { reduction: "sum" })));
        const what = `mseLoss with ${describeResult(v)} (${typeof v}) as ${asTarget ? "target" : "input"}`;
        if (meaning === null) {
          expectRejected(o, ["mseLoss"], [asTarget ? "target" : "input"], what);
        } else if (meaning !== "unknown") {
          expect(o.ok, `${what}: threw ${o.ok ? "" : String(o.error)}`).toBe(true);
          const ref: RefArray = { values: [other], shape: [], dtype: "float64" };
          const want = asTarget ? refLoss(ref, meaning, { reduction: "sum" }) : refLoss(meaning, ref, { reduction: "sum" });
          if (want.kind === "number") expect(close((o as { value: number }).value, want, 1e-13, "float64"), `${what}: ${String((o as { value: unknown }).value)} vs ${want.value}`).toBe(true);
        }
        expect(lib.heapStats().allocatedBytes, what).toBe(baseline);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    expectRecovered("anything");
  });

  it(`options and every option value (${RUNS} cases)`, () => {
    const x = { data: Float64Array.of(1, 2, 3, 4, 5, 6), shape: [2, 3] };
    const y = { data: Float64Array.of(0, 1, 0, 1, 0, 1), shape: [2, 3] };
    const keys = ["reduction", "sizeAverage", "reduce", "broadcast", "axis", "keepdims", "weight", "gradOutput", "out"] as const;
    fc.assert(
      fc.property(fc.constantFrom(...keys, "options" as const), anything, (key, v) => {
        const options = key === "options" ? v : { [key]: v };
        const fn = key === "gradOutput" || key === "out" ? "mseLossBackward" : "mseLoss";
        const o = attempt(() => (fn === "mseLoss" ? lib.mseLoss(x, y, options as never) : lib.mseLossBackward(x, y, options as never)));
        const what = `${fn} with ${key === "options" ? "options" : `option ${key}`} = ${describeResult(v)} (${typeof v})`;
        if (o.ok) {
          // Only a value API.md gives a meaning to may work; check the result is that meaning.
          const valid = isValidOption(key, v);
          expect(valid, `${what}: accepted, returned ${describeResult(o.value)}`).not.toBe(false);
        } else {
          const e = o.error as Error;
          expect(e instanceof TypeError || e instanceof RangeError, `${what}: threw ${String(e)}`).toBe(true);
          expect(e.message.includes(fn), `${what}: "${e.message}" does not name ${fn}`).toBe(true);
          if (key !== "options" && typeof v !== "object") expect(e.message.includes(key), `${what}: "${e.message}" does not name ${key}`).toBe(true);
          expect(isValidOption(key, v), `${what}: rejected a valid value: ${e.message}`).not.toBe(true);
        }
        expect(lib.heapStats().allocatedBytes, what).toBe(baseline);
      }),
      { seed: SEED + 1, numRuns: RUNS },
    );
    expectRecovered("anything options");
  });
});

/** true: API.md gives it a meaning; false: it must be rejected; null: API.md is silent. */
function isValidOption(key: string, v: unknown): boolean | null {
  switch (key) {
    case "options":
      if (v === undefined) return true;
      if (typeof v !== "object" || v === null || Array.isArray(v)) return v === null ? null : false;
      return null; // a random object: unknown keys, API.md is silent
    case "reduction":
      return v === undefined || v === "mean" || v === "sum" || v === "none" || v === "elementwise_mean";
    case "sizeAverage":
    case "reduce":
      return v === undefined || typeof v === "boolean" ? true : v === null ? null : false;
    case "broadcast":
    case "keepdims":
      return v === undefined || typeof v === "boolean";
    case "axis":
      if (v === undefined) return true;
      if (typeof v === "number") return Number.isInteger(v) && v >= -2 && v < 2;
      if (Array.isArray(v)) {
        const n = v.map((a) => (typeof a === "number" && Number.isInteger(a) && a >= -2 && a < 2 ? (a + 2) % 2 : Number.NaN));
        return n.every((a) => !Number.isNaN(a)) && new Set(n).size === n.length && v.every((_, i) => i in v);
      }
      return false;
    case "weight": {
      if (v === undefined) return true;
      const m = interpret(v);
      if (m === null) return false;
      if (m === "unknown") return null;
      return broadcastMismatch(m.shape, [2, 3]) === null && m.shape.length <= 2 && m.shape.every((d, i) => d === 1 || d === [2, 3][i + 2 - m.shape.length]);
    }
    case "gradOutput": {
      if (v === undefined || typeof v === "number") return true;
      const m = interpret(v);
      if (m === null) return false;
      // for "mean" a one-element array argument may be accepted (ts/options.ts documents it)
      return m === "unknown" || m.values.length === 1 ? null : false;
    }
    case "out":
      // the gradient of float64 [2, 3] input: a Float64Array of 6 elements (or a WasmTensor)
      return v === undefined || (v instanceof Float64Array && v.length === 6);
    default:
      return null;
  }
}

// ---------------------------------------------------------------------------
// alloc, WasmTensor, MeanSquaredError

describe("alloc and WasmTensor", () => {
  it("bad dtypes and shapes are rejected naming the argument", () => {
    const dtypes: unknown[] = [undefined, null, "float16", "int32", "Float32", "f32", "", 32, Float32Array, {}, Symbol("d")];
    for (const d of dtypes) {
      const what = `alloc(${describeResult(d)}, [3])`;
      expectRejected(attempt(() => lib.alloc(d as never, [3])), ["alloc"], ["dtype"], what);
      expectRecovered(what);
    }
    const shapes: unknown[] = [
      undefined,
      null,
      "3",
      [Number.NaN],
      [Infinity],
      [-1],
      [1.5],
      ["3"],
      [3n],
      new Array(9).fill(1),
      { length: 1, 0: 3 },
      [2 ** 53],
      [2 ** 31, 2 ** 31],
      [1e6, 1e6, 1e6],
    ];
    for (const s of shapes) {
      const what = `alloc("float32", ${describeResult(s)})`;
      expectRejected(attempt(() => lib.alloc("float32", s as never)), ["alloc"], ["shape", "bytes"], what);
      expectRecovered(what);
    }
  });

  it("use after dispose throws a clear error; a second dispose is a no-op; Symbol.dispose disposes", () => {
    const t = lib.alloc("float64", [2, 2]);
    t.view.set([1, 2, 3, 4]);
    try {
      expect(lib.mseLoss(t, [[0, 0], [0, 0]], { reduction: "sum" })).toBe(30);
    } finally {
      t.dispose();
    }
    expect(lib.heapStats().allocatedBytes).toBe(baseline);
    for (const site of SITES) {
      const o = attempt(() => site.call(lib, t, Float64Array.of(0, 0, 0, 0)));
      expect(o.ok, `${site.name} with a disposed WasmTensor`).toBe(false);
      expect(String((o as { error: Error }).error.message), site.name).toMatch(/dispose/i);
      expectRecovered(`${site.name} with a disposed WasmTensor`);
    }
    expect(() => t.view).toThrow(/dispose/i);
    expect(() => t.dispose()).not.toThrow();
    expect(lib.heapStats().allocatedBytes).toBe(baseline);
    const u = lib.alloc("float32", [5]);
    const disposer = (u as unknown as Record<symbol, unknown>)[(Symbol as { dispose?: symbol }).dispose ?? Symbol.for("Symbol.dispose")];
    expect(typeof disposer).toBe("function");
    (disposer as () => void).call(u);
    expect(() => u.view).toThrow(/dispose/i);
    expect(lib.heapStats().allocatedBytes).toBe(baseline);
    expectRecovered("dispose");
  });

  it("a WasmTensor as weight and gradOutput; one tensor passed as several operands", () => {
    const t = lib.alloc("float32", [3]);
    t.view.set([1, 2, 3]);
    try {
      expect(lib.mseLoss(t, t)).toBe(0);
      expect(lib.mseLoss(t, [0, 0, 0], { reduction: "sum", weight: t })).toBe(1 + 8 + 27);
      const g = lib.mseLossBackward(t, [0, 0, 0], { reduction: "none", gradOutput: t, weight: t });
      expect(Array.from(g.data)).toEqual([2, 16, 54]);
      expect(Array.from(t.view)).toEqual([1, 2, 3]);
    } finally {
      t.dispose();
    }
    expectRecovered("WasmTensor operands");
  });
});

describe("MeanSquaredError", () => {
  it("bad constructor options, bad updates and bad states are rejected; a failed update changes nothing", () => {
    for (const squared of ["yes", 1, null]) {
      expectRejected(attempt(() => new lib.MeanSquaredError({ squared } as never)), ["MeanSquaredError"], ["squared"], `squared ${String(squared)}`);
    }
    expectRejected(attempt(() => new lib.MeanSquaredError("x" as never)), ["MeanSquaredError"], ["options"], "options string");
    const m = new lib.MeanSquaredError();
    m.update([1, 2], [0, 0]);
    const before = JSON.stringify(m.state);
    for (const [label, make] of badArrays()) {
      expectRejected(attempt(() => m.update(make() as never, [0, 0])), ["MeanSquaredError", "update"], ["pred", "input", "preds"], `update with ${label}`);
      expect(JSON.stringify(m.state), `state after update with ${label}`).toBe(before);
    }
    expect(attempt(() => m.update([1, 2, 3], [1, 2])).ok).toBe(false);
    expect(JSON.stringify(m.state)).toBe(before);
    expect(m.compute()).toBe(2.5);
    for (const bad of [undefined, null, 5, "state", [], {}, { sum: "1" }]) {
      expect(attempt(() => lib.MeanSquaredError.fromState(bad as never)).ok, `fromState(${describeResult(bad)})`).toBe(false);
    }
    expect(attempt(() => m.merge({} as never)).ok).toBe(false);
    expect(m.compute()).toBe(2.5);
    const nan = new lib.MeanSquaredError();
    nan.update([Number.NaN], [0]);
    const revived = lib.MeanSquaredError.fromState(JSON.parse(JSON.stringify(nan.state)));
    expect(revived.compute()).toBeNaN();
    const inf = new lib.MeanSquaredError();
    inf.update([Infinity], [0]);
    expect(JSON.stringify(inf.state)).toContain('"Infinity"');
    expect(lib.MeanSquaredError.fromState(JSON.parse(JSON.stringify(inf.state))).compute()).toBe(Infinity);
    expectRecovered("metric");
  });
});

describe("the result never aliases wasm memory", () => {
  it("a returned tensor keeps its values across later calls and memory growth", () => {
    const r = lib.mseLoss(Float32Array.of(1, 2, 3), Float32Array.of(0, 0, 0), { reduction: "none" });
    expect(isOutTensor(r)).toBe(true);
    const before = Array.from((r as { data: Float32Array }).data);
    const big = lib.alloc("float64", [4 << 20]); // 32 MiB: grows memory
    try {
      big.view.fill(7);
      lib.mseLoss(big, big);
    } finally {
      big.dispose();
    }
    expect(Array.from((r as { data: Float32Array }).data)).toEqual(before);
    expect((r as { data: Float32Array }).data.buffer.byteLength).toBeGreaterThan(0);
    expectRecovered("aliasing");
  });
});
