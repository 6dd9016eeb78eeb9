#!/usr/bin/env node
// Run before every npm script: installs what is missing (scripts/setup.mjs, a no-op in
// well under a second when all is there), then rebuilds what is stale (scripts/build.mjs).
// Chromium is only wanted for `npm test` (npm_lifecycle_event test): `test:soak` runs the
// soak project alone, in Node.
import { isMain } from "./lib/toolchain.mjs";
import { setup, SetupError } from "./setup.mjs";
import { build, BuildError } from "./build.mjs";

export async function ensure() {
  const script = process.env.npm_lifecycle_event ?? "";
  const browser = script === "test" || process.argv.includes("--browser");
  setup({ browser, quiet: true });
  await build({ quiet: true });
}

if (isMain(import.meta.url)) {
  try {
    await ensure();
  } catch (e) {
    const known = e instanceof SetupError || e instanceof BuildError;
    console.error(`ensure: FAILED: ${known ? e.message : e.stack}`);
    process.exit(1);
  }
}
