// What the build ships (scripts/build.mjs): the JavaScript without comments (users download
// it; they were a third of the gzipped bundle), the declarations with their documentation
// (editors show it), and the CommonJS declarations the same text as the ESM ones.
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "dist");
const files = (dir: string, ext: string): string[] => readdirSync(path.join(dist, dir)).filter((f) => f.endsWith(ext));

describe("dist", () => {
  it("the JavaScript has no comments, the declarations keep their doc comments", () => {
    for (const dir of ["esm", "cjs"]) {
      const js = files(dir, ".js");
      expect(js.length, `dist/${dir}: no JavaScript`).toBeGreaterThan(10);
      for (const f of js) {
        const text = readFileSync(path.join(dist, dir, f), "utf8");
        expect(/\/\*|^\s*\/\//m.test(text), `dist/${dir}/${f} has comments`).toBe(false);
      }
    }
    const dts = readFileSync(path.join(dist, "esm", "loss.d.ts"), "utf8");
    expect(dts).toMatch(/\/\*\*[\s\S]*PyTorch/);
  });

  it("the CommonJS declarations are the ESM ones", () => {
    const esm = files("esm", ".d.ts");
    expect(files("cjs", ".d.ts").sort()).toEqual(esm.sort());
    for (const f of esm) {
      expect(readFileSync(path.join(dist, "cjs", f), "utf8"), f).toBe(readFileSync(path.join(dist, "esm", f), "utf8"));
    }
  });
});
