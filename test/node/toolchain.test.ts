// scripts/lib/toolchain.mjs: which executables count as the browser for the browser tests.
// Ubuntu's `chromium-browser` is a shell script that runs a snap which, in a container, is
// never installed; setup must then fetch Playwright's browser instead of launching it.
import { afterAll, describe, expect, it } from "vitest";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { usableBrowser } from "../../scripts/lib/toolchain.mjs";

const dir = mkdtempSync(path.join(tmpdir(), "mse-wasm-browser-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function script(name: string, body: string, mode = 0o755): string {
  const file = path.join(dir, name);
  writeFileSync(file, body);
  chmodSync(file, mode);
  return file;
}

describe("usableBrowser", () => {
  it("takes a binary and a wrapper script that runs no snap", () => {
    expect(usableBrowser(process.execPath)).toBe(true);
    expect(usableBrowser(script("chromium", '#!/bin/sh\nexec /usr/lib/chromium/chromium "$@"\n'))).toBe(true);
  });

  it("refuses a wrapper for a snap that is not installed", () => {
    const shim = script(
      "chromium-browser",
      '#!/bin/sh\nif ! [ -x /snap/bin/mse-wasm-absent-snap ]; then\n  echo "requires the snap" >&2\n  exit 1\nfi\nexec /snap/bin/mse-wasm-absent-snap "$@"\n',
    );
    expect(usableBrowser(shim)).toBe(false);
  });

  it("refuses what is missing or not executable", () => {
    expect(usableBrowser(path.join(dir, "absent"))).toBe(false);
    expect(usableBrowser(script("plain", "#!/bin/sh\nexit 0\n", 0o644))).toBe(false);
    expect(usableBrowser(dir)).toBe(false);
  });
});
