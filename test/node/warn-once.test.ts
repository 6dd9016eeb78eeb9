// API.md: each distinct warning once per process. The ESM and the CommonJS entry are two
// copies of the library in one process; between them a message is still shown once.
import { createRequire } from "node:module";
import { afterEach, describe, expect, it, vi } from "vitest";
import * as esm from "../../dist/esm/index.js";

type Lib = typeof esm;
const cjs = createRequire(import.meta.url)("../../dist/cjs/index.js") as Lib;

afterEach(() => {
  vi.restoreAllMocks();
});

describe("warnings once per process", () => {
  it("the ESM and the CommonJS copy share one record of what was shown", async () => {
    await esm.init();
    await cjs.init();
    const shown: string[] = [];
    vi.spyOn(process, "emitWarning").mockImplementation((w: string | Error) => {
      shown.push(typeof w === "string" ? w : w.message);
    });
    esm.mseLoss([1, 2, 3, 4, 5], [1]);
    cjs.mseLoss([1, 2, 3, 4, 5], [1]);
    esm.mseLoss([1, 2, 3, 4, 5], [1]);
    expect(shown).toHaveLength(1);
    expect(shown[0]).toContain("Using a target size (torch.Size([1])) that is different to the input size (torch.Size([5]))");
    // a message the other copy has not shown yet is shown by it
    cjs.mseLoss([1, 2, 3, 4, 5, 6, 7], [1]);
    expect(shown).toHaveLength(2);
    expect(shown[1]).toContain("input size (torch.Size([7]))");
  });

  it("where globalThis takes no new property, warnings still show once and never fail the call", async () => {
    const key = Symbol.for("mse-wasm.warnings-shown");
    const g = globalThis as Record<symbol, unknown>;
    const saved = Object.getOwnPropertyDescriptor(g, key);
    delete g[key];
    const define = Object.defineProperty;
    vi.spyOn(Object, "defineProperty").mockImplementation(((target: object, p: PropertyKey, d: PropertyDescriptor) => {
      if (target === globalThis && p === key) throw new TypeError("Cannot define property on a frozen object");
      return define(target, p, d);
    }) as typeof Object.defineProperty);
    try {
      vi.resetModules();
      const lib = await import("../../ts/index.js");
      await lib.init();
      const shown: string[] = [];
      vi.spyOn(process, "emitWarning").mockImplementation((w: string | Error) => {
        shown.push(typeof w === "string" ? w : w.message);
      });
      expect(lib.mseLoss([1, 2, 3], [1], { reduction: "sum" })).toBe(5);
      expect(lib.mseLoss([1, 2, 3], [1], { reduction: "sum" })).toBe(5);
      expect(shown).toHaveLength(1);
    } finally {
      vi.restoreAllMocks();
      if (saved !== undefined) Object.defineProperty(g, key, saved);
    }
  });
});
