// Test projects (see scripts/test.mjs, which runs them all and counts the results):
//   node         test/*.test.ts + test/node/*.test.ts on the SIMD build
//   node-scalar  the same files with MSE_WASM_BACKEND=scalar: test/setup/backend.ts forces
//                init({ simd: false }) before each file
//   browser      test/*.test.ts + test/browser/*.test.ts in headless Chromium
//   soak         test/soak/*.test.ts, only with MSE_WASM_SOAK=1 (scripts/test.mjs sets it)
// Each project provides `mseWasmBackend` ("simd" | "scalar"), readable in node and in the
// browser with `inject("mseWasmBackend")` from vitest.
import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";
import type { TestProjectInlineConfiguration } from "vitest/config";
import { playwright } from "@vitest/browser-playwright";
import { CHROMIUM_ARGS, findChromium } from "./scripts/lib/toolchain.mjs";

declare module "vitest" {
  export interface ProvidedContext {
    mseWasmBackend: "simd" | "scalar";
  }
}

const shared = ["test/*.test.ts"];
const timeouts = { testTimeout: 60_000, hookTimeout: 60_000 };

const projects: TestProjectInlineConfiguration[] = [
  {
    test: {
      name: "node",
      environment: "node",
      include: [...shared, "test/node/*.test.ts"],
      provide: { mseWasmBackend: "simd" },
      ...timeouts,
    },
  },
  {
    test: {
      name: "node-scalar",
      environment: "node",
      include: [...shared, "test/node/*.test.ts"],
      env: { MSE_WASM_BACKEND: "scalar" },
      setupFiles: ["test/setup/backend.ts"],
      provide: { mseWasmBackend: "scalar" },
      ...timeouts,
    },
  },
  {
    // Cross-origin isolation, so that the page has SharedArrayBuffer as a real site that
    // uses it would (the SharedArrayBuffer input tests otherwise have nothing to test).
    server: { headers: { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp" } },
    test: {
      name: "browser",
      include: [...shared, "test/browser/*.test.ts"],
      provide: { mseWasmBackend: "simd" },
      ...timeouts,
      browser: {
        enabled: true,
        headless: true,
        screenshotFailures: false,
        provider: playwright({
          launchOptions: {
            executablePath: findChromium() ?? undefined,
            args: CHROMIUM_ARGS,
          },
        }),
        instances: [{ browser: "chromium" }],
      },
    },
  },
];

if (process.env.MSE_WASM_SOAK === "1") {
  projects.push({
    test: {
      name: "soak",
      environment: "node",
      include: ["test/soak/*.test.ts"],
      provide: { mseWasmBackend: "simd" },
      // The FinalizationRegistry checks need to run the garbage collector.
      execArgv: ["--expose-gc"],
      testTimeout: 30 * 60_000,
      hookTimeout: 5 * 60_000,
    },
  });
}

export default defineConfig({
  test: {
    // .only would silently drop the rest of the suite; .skip/.todo are counted as failures
    // by scripts/test.mjs.
    allowOnly: false,
    passWithNoTests: false,
    // vitest's default leaves one CPU for itself (1 worker on a 2-core CI machine), but
    // its main process is idle while the forks and Chromium work.
    maxWorkers: Math.max(1, availableParallelism()),
    projects,
  },
});
