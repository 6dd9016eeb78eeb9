// Out of WebAssembly memory: an allocation past the 4 GiB wasm32 limit, past the
// largest block a wasm32 allocator can describe (2^31 bytes), or past what the engine
// grants throws a RangeError naming the bytes asked; every live WasmTensor keeps its
// contents and the module keeps working. Operands too large for wasm32 get the same
// clear error or the right answer, never a wrong one.
//
// Node only: the engine-limit case commits about 1.5 GiB of memory.

import { beforeAll, describe, expect, it } from "vitest";
import * as lib from "../../ts/index.js";

let baseline = 0;

beforeAll(async () => {
  await lib.init();
  baseline = lib.heapStats().allocatedBytes;
});

type Tensor = ReturnType<typeof lib.alloc>;

/** Two live tensors with known contents, and a check that they still hold them. */
function liveTensors(): { tensors: Tensor[]; intact(): void; dispose(): void; bytes: number } {
  const before = lib.heapStats().allocatedBytes;
  const a = lib.alloc("float32", [1000]);
  const b = lib.alloc("float64", [97, 127]);
  a.view.set(Array.from({ length: 1000 }, (_, i) => i * 0.5));
  b.view.set(Array.from({ length: 97 * 127 }, (_, i) => Math.sin(i)));
  const bytes = lib.heapStats().allocatedBytes - before;
  return {
    tensors: [a, b],
    bytes,
    intact(): void {
      const va = a.view;
      for (let i = 0; i < 1000; i++) if (va[i] !== i * 0.5) throw new Error(`tensor a[${i}] is ${va[i]}, was ${i * 0.5}`);
      const vb = b.view;
      for (let i = 0; i < 97 * 127; i++) if (vb[i] !== Math.sin(i)) throw new Error(`tensor b[${i}] is ${vb[i]}, was ${Math.sin(i)}`);
      // and they still work zero-copy
      expect(lib.mseLoss(a, a)).toBe(0);
      expect(lib.mseLoss({ data: a.view.subarray(0, 4), shape: [4] }, [0, 0, 0, 0], { reduction: "sum" })).toBe(0 + 0.25 + 1 + 2.25);
    },
    dispose(): void {
      a.dispose();
      b.dispose();
    },
  };
}

/** The bytes asked, as a plain integer in the message (API.md: says how much was asked). */
function expectOutOfMemory(fn: () => unknown, bytes: number, what: string): RangeError {
  let error: unknown;
  try {
    const r = fn();
    (r as { dispose?: () => void } | undefined)?.dispose?.(); // an unexpected success must not leak into the next case
  } catch (e) {
    error = e;
  }
  expect(error, `${what}: did not throw`).toBeInstanceOf(RangeError);
  const message = (error as Error).message;
  expect(message, what).toContain(String(bytes));
  expect(message, what).toMatch(/bytes/);
  return error as RangeError;
}

function checkWorks(): void {
  expect(
    lib.mseLoss(
      [
        [1, 2, 3],
        [4, 5, 6],
        [7, 8, 9],
      ],
      [
        [1, 4, 6],
        [2, 5, 3],
        [4, 7, 8],
      ],
      { reduction: "sum" },
    ),
  ).toBe(37);
  expect(lib.mseLoss(Float32Array.of(1, 2, 3), Float32Array.of(0, 0, 0), { reduction: "none" })).toEqual({ data: Float32Array.of(1, 4, 9), shape: [3] });
}

describe("out of memory", () => {
  it("alloc past 4 GiB: RangeError naming the bytes; live tensors intact", () => {
    const live = liveTensors();
    try {
      const cases: Array<[dtype: "float32" | "float64", shape: number[], bytes: number]> = [
        ["float64", [2 ** 29], 2 ** 32],
        ["float32", [2 ** 30], 2 ** 32],
        ["float32", [65536, 65536], 2 ** 34],
        ["float64", [2 ** 31, 4], 2 ** 36],
        // the largest block a wasm32 pointer can address, with memory already in use
        ["float32", [2 ** 30 - 4], 2 ** 32 - 16],
        ["float64", [2 ** 53 / 8], 2 ** 53],
      ];
      for (const [dtype, shape, bytes] of cases) {
        const what = `alloc("${dtype}", [${shape.join(", ")}])`;
        const e = expectOutOfMemory(() => lib.alloc(dtype, shape), bytes, what);
        expect(e.message, what).toContain("alloc");
        live.intact();
        expect(lib.heapStats().allocatedBytes, what).toBe(baseline + live.bytes);
        checkWorks();
      }
    } finally {
      live.dispose();
    }
    expect(lib.heapStats().allocatedBytes).toBe(baseline);
  });

  it("operands too large for wasm32: a RangeError naming the bytes, or the right answer", () => {
    const live = liveTensors();
    try {
      // 2^30 float32 zeros (4 GiB of JS memory, never touched) against a float64 number:
      // promoted to float64 the copy would be 8 GiB.
      const huge = new Float32Array(2 ** 30);
      let result: unknown;
      let error: unknown;
      try {
        result = lib.mseLoss(huge, 0.5);
      } catch (e) {
        error = e;
      }
      if (error === undefined) expect(result).toBe(0.25);
      else {
        expect(error).toBeInstanceOf(RangeError);
        expect((error as Error).message).toMatch(/\d{10,} bytes/);
        expect((error as Error).message).toMatch(/input/);
      }
      live.intact();
      expect(lib.heapStats().allocatedBytes).toBe(baseline + live.bytes);

      // "none" over the outer broadcast [2^15, 1] x [2^15]: 2^30 results, 4 GiB (float32) / 8 GiB (float64)
      for (const Ctor of [Float32Array, Float64Array]) {
        const col = { data: new Ctor(2 ** 15), shape: [2 ** 15, 1] };
        const row = { data: new Ctor(2 ** 15), shape: [2 ** 15] };
        const bytes = 2 ** 30 * Ctor.BYTES_PER_ELEMENT;
        expectOutOfMemory(() => lib.mseLoss(col, row, { reduction: "none", broadcast: true }), bytes, `none over [32768, 32768] ${Ctor.name}`);
        expectOutOfMemory(() => new lib.MSELoss({ reduction: "none", broadcast: true }).forward(row, col), bytes, `MSELoss none over [32768, 32768] ${Ctor.name}`);
        live.intact();
        expect(lib.heapStats().allocatedBytes).toBe(baseline + live.bytes);
      }
      checkWorks();
    } finally {
      live.dispose();
    }
    expect(lib.heapStats().allocatedBytes).toBe(baseline);
  });

  it("a 2^28-element broadcast reduction needs no big block and is accurate", () => {
    // API.md's accuracy bound holds for any length up to 2^28 elements
    const n = 2 ** 14;
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = i / n;
    const input = { data: a, shape: [n, 1] };
    const target = { data: new Float32Array(n), shape: [n] };
    // Σ_i Σ_j (i/n)^2 = n · (n-1) n (2n-1) / (6 n^2)
    const exact = (n * ((n - 1) * n * (2 * n - 1))) / 6 / (n * n);
    const sum = lib.mseLoss(input, target, { reduction: "sum", broadcast: true }) as number;
    expect(Math.abs(sum - exact) / exact).toBeLessThanOrEqual(1e-6);
    // d/da_i Σ_j (a_i - 0)^2 = 2 m a_i, summed back over the broadcast dim (m = 2^13 here)
    const m = 2 ** 13;
    const grad = lib.mseLossBackward(input, { data: new Float32Array(m), shape: [m] }, { reduction: "sum", broadcast: true });
    expect(grad.shape).toEqual([n, 1]);
    for (const i of [0, 1, 777, n - 1]) {
      const want = Math.fround(2 * m * a[i]!);
      expect(Math.abs(grad.data[i]! - want)).toBeLessThanOrEqual(1e-6 * Math.abs(want));
    }
    expect(lib.heapStats().allocatedBytes).toBe(baseline);
  });

  it("past what the engine grants (4 GiB of linear memory in all): RangeError naming the bytes; earlier tensors intact", () => {
    const live = liveTensors();
    const hogs: Tensor[] = [];
    const block = 1.5 * 2 ** 30; // committed (alloc zero-fills); with the request below it passes 4 GiB
    const marks = (t: Tensor, k: number): void => {
      const v = t.view;
      for (let i = 0; i < v.length; i += 1 << 20) v[i] = k + i;
      v[v.length - 1] = -k;
    };
    const checkMarks = (t: Tensor, k: number): void => {
      const v = t.view;
      for (let i = 0; i < v.length; i += 1 << 20) if (v[i] !== k + i) throw new Error(`hog ${k} lost its mark at ${i}: ${v[i]}`);
      expect(v[v.length - 1]).toBe(-k);
    };
    try {
      for (let k = 0; k < 1; k++) {
        const t = lib.alloc("float64", [Math.floor(block / 8)]);
        marks(t, k + 1);
        hogs.push(t);
      }
      const withHogs = lib.heapStats().allocatedBytes;
      const ask = 2.6 * 2 ** 30;
      const elements = Math.floor(ask / 4);
      expectOutOfMemory(() => lib.alloc("float32", [elements]), elements * 4, "alloc beyond 4 GiB of linear memory");
      hogs.forEach((t, k) => checkMarks(t, k + 1));
      live.intact();
      checkWorks();
      // a call that needs a per-call block now fails cleanly too, then works once memory is back
      const rows = Math.floor(elements / 2);
      const big = { data: new Float64Array(rows), shape: [rows, 1] };
      const small = { data: new Float64Array(1), shape: [1] };
      let error: unknown;
      let result: unknown;
      try {
        result = lib.mseLoss(big, small, { reduction: "none", broadcast: true });
      } catch (e) {
        error = e;
      }
      if (error === undefined) {
        // streamed without a big block: then it must be right
        const r = result as { data: Float64Array; shape: number[] };
        expect(r.shape).toEqual([rows, 1]);
        expect(r.data[0]).toBe(0);
        expect(r.data[r.data.length - 1]).toBe(0);
      } else {
        expect(error).toBeInstanceOf(RangeError);
        expect((error as Error).message).toMatch(/\d+ bytes/);
      }
      hogs.forEach((t, k) => checkMarks(t, k + 1));
      live.intact();
      expect(lib.heapStats().allocatedBytes).toBe(withHogs);
    } finally {
      for (const t of hogs) t.dispose();
    }
    // with the hogs gone the same request fits
    const t = lib.alloc("float32", [1 << 28]);
    t.view[(1 << 28) - 1] = 3;
    expect(lib.mseLoss(t, { data: Float32Array.of(0), shape: [] }, { reduction: "sum", broadcast: true })).toBe(9);
    t.dispose();
    live.intact();
    live.dispose();
    expect(lib.heapStats().allocatedBytes).toBe(baseline);
    checkWorks();
  });
});
