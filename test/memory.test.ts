// Memory ownership: heapStats().allocatedBytes returns to its baseline after many mixed
// calls, after failing calls and after memory.grow; live WasmTensors keep their contents
// and a valid .view across memory.grow; results are JS-owned; use after dispose throws
// and a second dispose is a no-op.
import { beforeAll, describe, expect, it } from "vitest";
import {
  alloc,
  heapStats,
  init,
  MeanSquaredError,
  MSELoss,
  mseLoss,
  mseLossBackward,
  mseLossWithGrad,
  ShapeError,
} from "../ts/index.js";
import { asTensor } from "./helpers/fixtures.js";
import { spreadValues } from "./helpers/random.js";
import { captureWarnings } from "./helpers/warnings.js";

let baseline: number;

beforeAll(async () => {
  await init();
  // warm up every path once: anything allocated for good (scratch) is part of the baseline
  mseLoss([1, 2], [3, 4]);
  mseLossWithGrad({ data: [1, 2, 3, 4, 5, 6], shape: [2, 3] }, [1, 2, 3], { axis: 0, broadcast: true });
  baseline = heapStats().allocatedBytes;
});

function expectBaseline(what: string): void {
  expect(heapStats().allocatedBytes, `${what}: allocatedBytes`).toBe(baseline);
}

describe("heapStats", () => {
  it("reports allocated bytes and memory size", () => {
    const s = heapStats();
    expect(Number.isInteger(s.allocatedBytes)).toBe(true);
    expect(s.allocatedBytes).toBeGreaterThanOrEqual(0);
    expect(s.memoryBytes % 65536).toBe(0);
    expect(s.memoryBytes).toBeGreaterThan(s.allocatedBytes);
    const t = alloc("float64", [1000]);
    expect(heapStats().allocatedBytes).toBeGreaterThanOrEqual(baseline + 8000);
    t.dispose();
    expectBaseline("after alloc/dispose");
  });
});

describe("no leaks", () => {
  it("10,000 mixed calls leave allocatedBytes at its baseline", () => {
    const x32 = spreadValues(300, 1, 6, "float32");
    const y32 = spreadValues(300, 2, 6, "float32");
    const x64 = spreadValues(300, 3, 6, "float64");
    const y64 = spreadValues(300, 4, 6, "float64");
    const w = { data: new Float64Array(300).fill(0.5), shape: [300] };
    const m = new MeanSquaredError();
    const criterion = new MSELoss({ reduction: "sum" });
    const warnings = captureWarnings();
    try {
      for (let i = 0; i < 10_000; i++) {
        const n = 1 + (i % 300);
        const a = i % 2 === 0 ? x32.subarray(0, n) : x64.subarray(0, n);
        const b = i % 3 === 0 ? y64.subarray(0, n) : y32.subarray(0, n);
        switch (i % 10) {
          case 0:
            mseLoss(a, b);
            break;
          case 1:
            mseLoss(a, b, { reduction: "none" });
            break;
          case 2:
            mseLossBackward(a, b, { reduction: "none", gradOutput: 0.5 });
            break;
          case 3:
            mseLossWithGrad(a, b, { reduction: "sum" });
            break;
          case 4:
            mseLoss({ data: a, shape: [1, n] }, { data: b.subarray(0, 1), shape: [1, 1] }, { axis: 1, keepdims: true });
            break;
          case 5:
            mseLoss(x64, y32, { reduction: "mean", weight: w });
            break;
          case 6: {
            const t = alloc(i % 4 === 0 ? "float32" : "float64", [n]);
            t.view.set(a);
            mseLossWithGrad(t, b, { reduction: "none" });
            t.dispose();
            break;
          }
          case 7:
            m.update(a, b);
            break;
          case 8:
            criterion.backward(a, b);
            break;
          default:
            mseLossBackward({ data: a, shape: [n, 1] }, b, { broadcast: true });
        }
      }
    } finally {
      warnings.restore();
    }
    expect(Number.isFinite(m.compute())).toBe(true);
    expectBaseline("after 10,000 calls");
  });

  it("failing calls leave no memory allocated", () => {
    const big = spreadValues(50_000, 5, 4, "float32");
    const wrong = { data: spreadValues(49_999, 6, 4, "float32"), shape: [49_999] };
    // Each with the error it must raise, so that a mistake in the call itself (some other
    // error) cannot pass for the path being checked.
    const bad: Array<[() => unknown, new (...args: never[]) => Error]> = [
      [() => mseLoss(big, wrong), ShapeError],
      [() => mseLoss(big, big, { weight: { data: new Float32Array(7), shape: [7] } }), ShapeError],
      [() => mseLoss(big, big, { weight: { data: new Int32Array(3), shape: [3] } as never }), TypeError],
      [() => mseLossBackward(big, big, { reduction: "none", gradOutput: { data: new Float32Array(3), shape: [3] } }), ShapeError],
      [() => mseLossWithGrad(big, big, { reduction: "none", gradOutput: "g" as never }), TypeError],
      [() => mseLoss(big, big, { reduction: "avg" as never }), RangeError],
      [() => mseLoss({ data: big, shape: [250, 200] }, big, { axis: [0, 0], broadcast: true }), RangeError],
      [() => mseLoss({ data: big, shape: [250, 200] }, { data: big.subarray(0, 200), shape: [200] }, { axis: 5 }), RangeError],
      [() => mseLoss(big, [[1, 2], [3]]), TypeError],
      [() => alloc("float64", [1 << 30]), RangeError],
      [() => new MeanSquaredError().update(big, wrong), ShapeError],
    ];
    const warnings = captureWarnings();
    try {
      for (const [i, [call, kind]] of bad.entries()) {
        expect(call, `bad call ${i}`).toThrow(kind);
        expectBaseline(`after bad call ${i}`);
      }
    } finally {
      warnings.restore();
    }
    // a disposed tensor as an argument
    const t = alloc("float32", [50_000]);
    t.dispose();
    expect(() => mseLoss(t, big)).toThrow(/argument 'input' is a WasmTensor used after dispose/);
    expect(() => mseLoss(big, t)).toThrow(/argument 'target' is a WasmTensor used after dispose/);
    expectBaseline("after a disposed tensor argument");
  });
});

describe("memory.grow", () => {
  it("live WasmTensors keep their contents and a valid .view; results are JS-owned", () => {
    const a = alloc("float32", [1000]);
    const b = alloc("float64", [7, 3]);
    const aData = spreadValues(1000, 7, 4, "float32");
    const bData = spreadValues(21, 8, 4, "float64");
    a.view.set(aData);
    b.view.set(bData);
    const none = asTensor(mseLoss(a, b.view.subarray(0, 1), { reduction: "none", broadcast: true }), "none");
    const noneCopy = none.data.slice();
    const lossBefore = mseLoss(a, aData.map((v) => v * 0.5));
    const before = heapStats().memoryBytes;

    // bigger than the whole memory: mse_alloc must grow it
    const bigElems = Math.ceil(before / 8) + 1024;
    const big = alloc("float64", [bigElems]);
    expect(heapStats().memoryBytes).toBeGreaterThan(before);
    expect(big.view.length).toBe(bigElems);
    big.view[bigElems - 1] = 42;
    expect(big.view[bigElems - 1]).toBe(42);

    expect(a.view.length).toBe(1000);
    expect(a.view.byteLength).toBe(4000);
    expect(Array.from(a.view)).toEqual(Array.from(aData));
    expect(b.view).toBeInstanceOf(Float64Array);
    expect(Array.from(b.view)).toEqual(Array.from(bData));
    expect(a.shape).toEqual([1000]);
    expect(b.shape).toEqual([7, 3]);
    expect(a.dtype).toBe("float32");
    expect(b.dtype).toBe("float64");
    // results returned before the grow are JS-owned: unchanged and not detached
    expect(none.data.byteLength).toBe(noneCopy.byteLength);
    expect(Array.from(none.data)).toEqual(Array.from(noneCopy));
    // the tensors still work as arguments, with the same results
    expect(mseLoss(a, aData.map((v) => v * 0.5))).toBe(lossBefore);

    // writes through a fresh view land in the tensor
    a.view[0] = 3;
    expect(mseLoss({ data: a.view.subarray(0, 1), shape: [1] }, [1])).toBe(4);

    big.dispose();
    a.dispose();
    b.dispose();
    expectBaseline("after the grow");
  });

  it("a call whose own allocations grow memory leaves argument tensors intact", () => {
    const a = alloc("float64", [16]);
    a.view.set(Array.from({ length: 16 }, (_, i) => i));
    const mem = heapStats().memoryBytes;
    // copy-in of a large JS array makes the call allocate more than the memory holds
    const n = Math.ceil(mem / 8) + 4096;
    const x = new Float64Array(n).fill(1);
    expect(mseLoss(x, 0, { reduction: "sum", broadcast: true })).toBe(n);
    expect(heapStats().memoryBytes).toBeGreaterThan(mem);
    expect(Array.from(a.view)).toEqual(Array.from({ length: 16 }, (_, i) => i));
    expect(mseLoss(a, { data: a.view, shape: [16] }, { reduction: "sum" })).toBe(0);
    a.dispose();
    expectBaseline("after a growing call");
  });
});

describe("where large tensors start", () => {
  it("tensors of 64 KiB and more start 1 KiB apart within a 4 KiB page, 512+ bytes from its ends; smaller ones as allocated", () => {
    // Tensors allocated one after another start at different offsets in the page, so that
    // a kernel storing one while it loads the others never trips 4K aliasing (heap.ts).
    const big = [0, 1, 2, 3, 4].map((i) => alloc(i % 2 === 0 ? "float32" : "float64", [i % 2 === 0 ? 16384 : 8192 + i]));
    const small = alloc("float32", [100]);
    try {
      const offsets = big.map((t) => t.view.byteOffset % 4096);
      for (const o of offsets) {
        expect(o).toBeGreaterThanOrEqual(512);
        expect(o).toBeLessThanOrEqual(4096 - 512);
        expect(o % 16).toBe(0);
      }
      for (let i = 1; i < offsets.length; i++) {
        const d = Math.abs((offsets[i] as number) - (offsets[i - 1] as number));
        expect(Math.min(d, 4096 - d), `tensors ${i - 1} and ${i}: offsets ${offsets.join(", ")}`).toBeGreaterThanOrEqual(1024);
      }
      // the elements are the tensor's own: written, read back, and zero-filled at first
      for (const t of big) {
        expect(t.view.every((v) => v === 0)).toBe(true);
        t.view.fill(3);
      }
      expect(mseLoss(big[0]!, big[2]!)).toBe(0);
      expect(small.view.length).toBe(100);
      expect(heapStats().allocatedBytes).toBeGreaterThanOrEqual(baseline + 16384 * 4 * 3 + 8192 * 8 * 2 + 400);
    } finally {
      for (const t of big) t.dispose();
      small.dispose();
    }
    expectBaseline("after disposing them");
  });
});

describe("dispose", () => {
  it("use after dispose throws; a second dispose is a no-op", () => {
    const t = alloc("float32", [4]);
    t.view.set([1, 2, 3, 4]);
    t.dispose();
    expect(() => t.view).toThrow();
    expect(() => mseLoss(t, [1, 2, 3, 4])).toThrow(/dispose/);
    expect(() => mseLossBackward([1, 2, 3, 4], t)).toThrow(/dispose/);
    expect(() => mseLoss([1, 2, 3, 4], [1, 2, 3, 4], { weight: t })).toThrow(/dispose/);
    expect(() => t.dispose()).not.toThrow();
    expectBaseline("after dispose");
    // the freed block is reusable and a new tensor starts zeroed
    const u = alloc("float32", [4]);
    expect(Array.from(u.view)).toEqual([0, 0, 0, 0]);
    u.dispose();
    expectBaseline("after reuse");
  });

  it("Symbol.dispose disposes", () => {
    const dispose = (Symbol as { dispose?: symbol }).dispose;
    expect(typeof dispose).toBe("symbol");
    const t = alloc("float64", [8]);
    (t as unknown as Record<symbol, () => void>)[dispose as symbol]();
    expect(() => t.view).toThrow();
    expect(() => t.dispose()).not.toThrow();
    expectBaseline("after Symbol.dispose");
  });
});
