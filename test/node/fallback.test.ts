// Where the engine has no SIMD128, init() must pick the scalar build by itself. A fresh
// module instance sees WebAssembly.validate refuse the SIMD probe (as such an engine
// would) and must load the scalar build and compute the worked examples correctly.
import { afterEach, describe, expect, it, vi } from "vitest";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("automatic scalar fallback", () => {
  it("init() loads the scalar build when SIMD128 does not validate", async () => {
    const validate = vi.spyOn(WebAssembly, "validate").mockReturnValue(false);
    vi.resetModules();
    const lib = await import("../../ts/index.js");
    await lib.init();
    expect(validate).toHaveBeenCalled();
    expect(lib.backend()).toBe("scalar");
    expect(Math.abs(lib.mseLoss([1.5, 2.1, 2.9, 4.2], [1, 2, 3, 4]) - 0.0775)).toBeLessThanOrEqual(1e-15);
    const pred = [[1, 2, 3], [2, 1, 3], [3, 1, 2]];
    const label = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
    expect(lib.mseLoss(pred, label, { reduction: "sum" })).toBe(37);
  });

  it("init({ simd: true }) refuses where SIMD128 does not validate", async () => {
    vi.spyOn(WebAssembly, "validate").mockReturnValue(false);
    vi.resetModules();
    const lib = await import("../../ts/index.js");
    await expect(lib.init({ simd: true })).rejects.toThrow(/SIMD/);
  });
});
