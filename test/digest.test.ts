// Determinism: the same inputs give bit-identical results across calls, builds (SIMD and
// scalar) and runtimes. The SHA-256 of the results of test/determinism.mjs's cases is
// recorded in test/fixtures/digest.json by scripts/gen_digest.mjs (built library, Node)
// and checked here in Node and Chromium, on both builds (and by the Deno suite in Deno).
// This is a consistency check, not a correctness reference.

import { beforeAll, describe, expect, it } from "vitest";
import * as lib from "../ts/index.js";
import type { Digest } from "./determinism.mjs";
import { GROUP, allCases, digestOf, digestOfEncoded, encodeResult, runCase } from "./determinism.mjs";
import recorded from "./fixtures/digest.json";
import { freshInstance } from "./helpers/instance.js";
import { captureWarnings } from "./helpers/warnings.js";

beforeAll(async () => {
  captureWarnings();
  await lib.init();
});

/** Which groups of cases differ from the recording, for a readable failure. */
function differences(got: Digest): string[] {
  const out: string[] = [];
  got.groups.forEach((g, i) => {
    if (g !== recorded.groups[i]) out.push(`cases ${i * GROUP}..${Math.min((i + 1) * GROUP, got.cases) - 1}`);
  });
  return out;
}

describe("deterministic results", () => {
  it("the digest of the seed examples and the generated cases matches test/fixtures/digest.json", async () => {
    const got = await digestOf(lib);
    expect(got.cases).toBe(recorded.cases);
    expect(differences(got)).toEqual([]);
    expect(got.sha256).toBe(recorded.sha256);
  });

  it("repeated calls give the same bits", () => {
    const cases = allCases();
    const differing: number[] = [];
    for (let i = 0; i < cases.length; i++) {
      const a = encodeResult(runCase(lib, cases[i]!));
      const b = encodeResult(runCase(lib, cases[i]!));
      if (a.length !== b.length || a.some((x, k) => x !== b[k])) differing.push(i);
    }
    expect(differing).toEqual([]);
  });

  it("the other build gives the same digest (a second module instance)", async () => {
    // A fresh module instance in Node; in a browser, where the module cache cannot be
    // reset, one in a Web Worker.
    const other = await freshInstance();
    try {
      await other.init({ simd: lib.backend() !== "simd" });
      expect(await other.backend()).not.toBe(lib.backend());
      const got: Digest = await digestOfEncoded(await other.digest());
      expect(differences(got)).toEqual([]);
      expect(got.sha256).toBe(recorded.sha256);
    } finally {
      other.close();
    }
  });
});
