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
});
