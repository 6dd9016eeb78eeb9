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

  it("init({ module }) and initSync refuse a module without the whole ABI, naming themselves and every missing export", async () => {
    vi.resetModules();
    const lib = await import("../../ts/index.js");
    // The smallest valid module: no exports at all.
    const empty = new WebAssembly.Module(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
    const error = await lib.init({ module: empty }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error?.message).toMatch(/^init: /);
    // Every export of crate/ABI.md: the memory, six helpers, nine kernels in two dtypes.
    const named = /missing exports: (.*)\)$/.exec(error?.message ?? "")?.[1]?.split(", ") ?? [];
    expect(named.length).toBe(1 + 6 + 9 * 2);
    for (const name of ["memory", "mse_alloc", "mse_sum_once_f32", "mse_sum_once_f64", "mse_grad_reduce_strided_f64", "mse_reduce_strided_f32", "mse_reduce_strided_f64"]) {
      expect(named).toContain(name);
    }
    // initSync names itself; a refused module leaves the library loadable.
    expect(() => lib.initSync(empty)).toThrow(/^initSync: the WebAssembly module is not an mse-wasm build/);
    await lib.init();
    expect(lib.mseLoss([1, 2], [1, 4])).toBe(2);
  });

  it("bytes that are not wasm: init and initSync name themselves and keep the engine's error as cause; init can be retried", async () => {
    vi.resetModules();
    const lib = await import("../../ts/index.js");
    const junk = new Uint8Array([1, 2, 3, 4]);
    const error = await lib.init({ bytes: junk }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error?.message).toMatch(/^init: could not instantiate the WebAssembly module: /);
    expect(error?.cause).toBeInstanceOf(WebAssembly.CompileError);
    expect(() => lib.initSync(junk)).toThrow(/^initSync: could not instantiate the WebAssembly module: /);
    expect(() => lib.mseLoss([1], [2])).toThrow(/init\(\)/);
    await lib.init();
    expect(lib.mseLoss([1.5, 2.1, 2.9, 4.2], [1, 2, 3, 4])).toBeCloseTo(0.0775, 15);
  });
});
