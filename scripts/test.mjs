#!/usr/bin/env node
// Runs every test stage, counts the results and ends with the line `N passed, N failed`.
//   rust    cargo test of crate/ on the host
//   rust-wasm  the same tests built for wasm32-wasi (SIMD128 and scalar), run in node:wasi
//   size    the size budgets (scripts/size.mjs), one check each
//   vitest  projects node, node-scalar, browser and soak, counted from --reporter=json
//   deno    deno test test/deno/*.test.ts against dist/esm
//   pack    the npm-packed package installed in a temp project (test/pack/run.mjs)
//   demo    the web demo in headless Chromium (test/demo/run.mjs)
// A stage that cannot run, or runs zero tests, counts as a failure. Exit 1 on any failure.
//
//   node scripts/test.mjs                  all stages (npm test), the soak project included
//   node scripts/test.mjs --no-soak        all stages but the soak project
//   node scripts/test.mjs --soak-only      only the soak project (npm run test:soak)
//   node scripts/test.mjs --only rust,deno only these stages
// Expects a current build (npm test runs scripts/ensure.mjs first).
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { repoRoot, cargoEnv, findRustToolchain, findChromium, which, mergeEnv } from "./lib/toolchain.mjs";

const argv = process.argv.slice(2);
const soak = !argv.includes("--no-soak");
const soakOnly = argv.includes("--soak-only");
const onlyArg = argv.indexOf("--only");
const only = onlyArg >= 0 ? new Set((argv[onlyArg + 1] ?? "").split(",")) : null;

const totals = { passed: 0, failed: 0 };
const failures = []; // { stage, name, message }
const stageSummaries = [];

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const bold = (s) => (color ? `\x1b[1m${s}\x1b[0m` : s);
const red = (s) => (color ? `\x1b[31m${s}\x1b[0m` : s);

function banner(title) {
  console.log(`\n${bold(`=== ${title} ${"=".repeat(Math.max(3, 70 - title.length))}`)}`);
}

/** Runs a command with output streamed to the console and captured. */
function runTee(cmd, args, { env, cwd = repoRoot, timeoutMs, quietStdout = false } = {}) {
  return new Promise((resolve) => {
    let out = "";
    const child = spawn(cmd, args, { cwd, env: mergeEnv(env), stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (d) => {
      out += d;
      if (!quietStdout) process.stdout.write(d);
    });
    child.stderr.on("data", (d) => {
      out += d;
      process.stderr.write(d);
    });
    let timedOut = false;
    const timer = timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill("SIGTERM");
          setTimeout(() => child.kill("SIGKILL"), 10_000).unref();
        }, timeoutMs)
      : null;
    child.on("error", (e) => {
      if (timer) clearTimeout(timer);
      resolve({ status: 127, output: out + String(e), timedOut });
    });
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ status: code ?? (signal ? 128 : 1), output: out, timedOut });
    });
  });
}

function stripAnsi(s) {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");
}

/**
 * Runs one stage. `fn` returns { passed, failed, failures: [{ name, message }], note? }.
 * A throw, or zero tests, is one failure of the stage itself.
 */
async function stage(name, fn) {
  if (only && !only.has(name)) return;
  banner(name);
  const t0 = Date.now();
  let r;
  try {
    r = await fn();
  } catch (e) {
    r = { passed: 0, failed: 0, failures: [], error: e instanceof Error ? e.message : String(e) };
  }
  if (r.error) {
    r.failed += 1;
    r.failures.push({ name: `${name} stage could not run`, message: r.error });
  } else if (r.passed + r.failed === 0) {
    r.failed += 1;
    r.failures.push({ name: `${name} stage ran zero tests`, message: "a stage that runs no tests counts as failed" });
  }
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  totals.passed += r.passed;
  totals.failed += r.failed;
  for (const f of r.failures) failures.push({ stage: name, ...f });
  const line = `${name}: ${r.passed} passed, ${r.failed} failed (${secs} s)${r.note ? `; ${r.note}` : ""}`;
  stageSummaries.push(line);
  console.log(r.failed ? red(line) : line);
}

// ---------------------------------------------------------------------------------------
// rust: cargo test on the host

/** A cargo test summary; ignored tests count as failed, as skipped vitest tests do. */
const RUST_RESULT = /^test result: (?:ok|FAILED)\. (\d+) passed; (\d+) failed; (\d+) ignored/gm;

async function rustStage() {
  // Any cargo that can build for the host will do; prefer the toolchain the wasm build
  // uses (Debian's pair needs RUSTC/RUSTDOC set explicitly), else the cargo on PATH.
  const { toolchain } = findRustToolchain();
  const cargo = toolchain?.cargo ?? which("cargo");
  if (!cargo) return { passed: 0, failed: 0, failures: [], error: "no cargo found: run `npm run setup`" };
  const env = toolchain?.env ?? {};
  console.log(`${cargo} test --manifest-path crate/Cargo.toml${env.RUSTC ? ` (RUSTC=${env.RUSTC})` : ""}`);
  // --no-fail-fast: a failing binary must not hide the tests of the ones after it.
  const r = await runTee(cargo, ["test", "--offline", "--no-fail-fast", "--manifest-path", path.join(repoRoot, "crate", "Cargo.toml")], {
    env: { ...cargoEnv(env, undefined), RUST_BACKTRACE: "0" },
    timeoutMs: 30 * 60_000,
  });
  const out = stripAnsi(r.output);
  let passed = 0;
  let failed = 0;
  let seen = 0;
  for (const m of out.matchAll(RUST_RESULT)) {
    passed += Number(m[1]);
    failed += Number(m[2]) + Number(m[3]);
    seen++;
  }
  const failures = [...out.matchAll(/^test (\S+) \.\.\. FAILED$/gm)].map((m) => ({
    name: `cargo test ${m[1]}`,
    message: panicMessage(out, m[1]),
  }));
  if (r.timedOut) return { passed, failed, failures, error: "cargo test timed out" };
  if (seen === 0 || (r.status !== 0 && failed === 0)) {
    const lastErr = out.split("\n").filter((l) => /^error/.test(l)).slice(0, 5).join("\n");
    return { passed, failed, failures, error: `cargo test exited ${r.status}${lastErr ? `:\n${lastErr}` : ""}` };
  }
  return { passed, failed, failures, note: `${seen} test binaries` };
}

// ---------------------------------------------------------------------------------------
// rust-wasm: the same crate tests compiled to wasm32-wasi, with and without simd128, run in
// node:wasi. The host run above only exercises the scalar lanes; this one runs the v128
// lanes on a real wasm engine, and the scalar lanes with 32-bit usize.

async function rustWasmStage() {
  const { toolchain } = findRustToolchain();
  if (!toolchain) return { passed: 0, failed: 0, failures: [], error: "no Rust toolchain with the wasm32 std: run `npm run setup`" };
  if (!toolchain.wasiTarget) {
    return {
      passed: 0,
      failed: 0,
      failures: [],
      error: `${toolchain.rustc} has no wasm32-wasi std (Debian: libstd-rust-dev-wasm32; rustup: rustup target add wasm32-wasip1)`,
    };
  }
  const total = { passed: 0, failed: 0, failures: [] };
  for (const [variant, rustflags] of [
    ["simd", "-C target-feature=+simd128"],
    ["scalar", ""],
  ]) {
    const targetDir = path.join(repoRoot, "target", `wasi-${variant}`);
    console.log(`cargo test --no-run --target ${toolchain.wasiTarget} (${variant}) -> ${path.relative(repoRoot, targetDir)}`);
    const build = await runTee(
      toolchain.cargo,
      ["test", "--offline", "--no-run", "--message-format=json-render-diagnostics", "--target", toolchain.wasiTarget, "--manifest-path", path.join(repoRoot, "crate", "Cargo.toml"), "--target-dir", targetDir],
      {
        env: cargoEnv(toolchain.env, rustflags, toolchain.wasiTarget),
        timeoutMs: 30 * 60_000,
        quietStdout: true,
      },
    );
    const binaries = [];
    for (const line of build.output.split("\n")) {
      if (!line.startsWith("{")) continue;
      try {
        const msg = JSON.parse(line);
        if (msg.reason === "compiler-artifact" && msg.profile?.test && msg.executable) binaries.push(msg.executable);
      } catch {
        /* not a message */
      }
    }
    if (build.status !== 0 || binaries.length === 0) {
      total.failed += 1;
      total.failures.push({ name: `cargo test --target ${toolchain.wasiTarget} (${variant}) did not build`, message: `exit ${build.status}` });
      continue;
    }
    for (const bin of binaries) {
      const r = await runTee(process.execPath, ["--no-warnings", path.join(repoRoot, "scripts", "lib", "run-wasi.mjs"), bin], { timeoutMs: 30 * 60_000 });
      const out = stripAnsi(r.output);
      const m = new RegExp(RUST_RESULT.source, "m").exec(out);
      const label = `${variant} ${path.basename(bin)}`;
      if (!m) {
        // panic=abort on wasm: a failing test ends the whole binary; name the test it was in.
        const started = [...out.matchAll(/^test (\S+) \.\.\. (?!ok$|ignored$)/gm)].map((x) => x[1]);
        const last = [...out.matchAll(/^test (\S+) \.\.\. *$/gm)].map((x) => x[1]).pop() ?? started.pop();
        const passed = [...out.matchAll(/^test \S+ \.\.\. ok$/gm)].length;
        total.passed += passed;
        total.failed += 1;
        total.failures.push({
          name: `wasm (${label}): ${last ? `test ${last} aborted` : `exited ${r.status} without a result line`}`,
          message: out.split("\n").filter((l) => /panicked|RuntimeError|error/.test(l)).slice(0, 6).join("\n"),
        });
        continue;
      }
      total.passed += Number(m[1]);
      total.failed += Number(m[2]) + Number(m[3]);
      for (const fm of out.matchAll(/^test (\S+) \.\.\. FAILED$/gm)) {
        total.failures.push({ name: `wasm (${variant}) cargo test ${fm[1]}`, message: panicMessage(out, fm[1]) });
      }
    }
  }
  return total;
}

function panicMessage(out, testName) {
  const start = out.indexOf(`---- ${testName} stdout ----`);
  if (start < 0) return "";
  return out.slice(start, start + 1500).split("\n").slice(1, 12).join("\n").trim();
}

// ---------------------------------------------------------------------------------------
// size: the budgets

async function sizeStage() {
  const { measureSizes, checkSizes, printSizes } = await import("./size.mjs");
  const sizes = measureSizes();
  printSizes(sizes);
  const results = checkSizes(sizes);
  return {
    passed: results.filter((r) => r.ok).length,
    failed: results.filter((r) => !r.ok).length,
    failures: results.filter((r) => !r.ok).map((r) => ({ name: r.name, message: r.message })),
  };
}

// ---------------------------------------------------------------------------------------
// vitest: all projects in one run

async function vitestStage() {
  const vitest = path.join(repoRoot, "node_modules", "vitest", "vitest.mjs");
  if (!fs.existsSync(vitest)) return { passed: 0, failed: 0, failures: [], error: "vitest is not installed: run `npm run setup`" };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mse-wasm-vitest-"));
  const jsonFile = path.join(tmp, "vitest.json");
  const projectFile = path.join(tmp, "projects.json");
  const extraFailures = [];
  let projects;
  if (soakOnly) projects = ["soak"];
  else {
    projects = ["node", "node-scalar"];
    if (findChromium()) projects.push("browser");
    else {
      extraFailures.push({
        name: "vitest project browser could not run",
        message: "no Chromium found: `npm run setup` installs Debian's chromium (as root) or downloads Playwright's; or set CHROMIUM_PATH",
      });
    }
    if (soak) projects.push("soak");
  }
  const args = [
    vitest,
    "run",
    ...projects.flatMap((p) => ["--project", p]),
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${jsonFile}`,
    `--reporter=${path.join(repoRoot, "scripts", "lib", "vitest-project-reporter.mjs")}`,
  ];
  console.log(`vitest run --project ${projects.join(" --project ")}`);
  const r = await runTee(process.execPath, args, {
    env: { MSE_WASM_SOAK: soak ? "1" : undefined, MSE_WASM_PROJECT_REPORT: projectFile, FORCE_COLOR: color ? "1" : "0" },
    timeoutMs: (soak ? 80 : 40) * 60_000,
  });
  let report;
  try {
    report = JSON.parse(fs.readFileSync(jsonFile, "utf8"));
  } catch {
    fs.rmSync(tmp, { recursive: true, force: true });
    return {
      passed: 0,
      failed: extraFailures.length,
      failures: extraFailures,
      error: `vitest exited ${r.status}${r.timedOut ? " (timed out)" : ""} without writing its JSON report`,
    };
  }
  let perProject = null;
  try {
    perProject = JSON.parse(fs.readFileSync(projectFile, "utf8"));
  } catch {
    /* breakdown is optional */
  }
  fs.rmSync(tmp, { recursive: true, force: true });

  let passed = report.numPassedTests ?? 0;
  let failed = report.numFailedTests ?? 0;
  const failures = [...extraFailures];
  failed += extraFailures.length;
  const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  if (skipped > 0) {
    // STYLE: no .skip/.todo; a skipped test is a test that did not pass.
    failed += skipped;
    const names = perProject
      ? Object.entries(perProject.projects).flatMap(([project, p]) => (p.skippedNames ?? []).map((n) => `[${project}] ${n}`))
      : [];
    failures.push({
      name: `${skipped} vitest test(s) skipped or todo`,
      message: `remove .skip/.todo (or the condition that skips)${names.length ? `:\n${names.slice(0, 20).join("\n")}` : ""}`,
    });
  }
  // Failed tests, with their project when the breakdown has it.
  if (perProject) {
    for (const [project, p] of Object.entries(perProject.projects)) {
      for (const f of p.failures) failures.push({ name: `[${project}] ${f.name}`, message: f.message });
    }
  } else {
    for (const file of report.testResults ?? []) {
      for (const a of file.assertionResults ?? []) {
        if (a.status === "failed") {
          failures.push({ name: `${path.relative(repoRoot, file.name)} > ${a.fullName}`, message: (a.failureMessages ?? []).join("\n").slice(0, 1500) });
        }
      }
    }
  }
  // A file that failed to load or crashed has no failed test of its own: count it.
  for (const file of report.testResults ?? []) {
    const failedTests = (file.assertionResults ?? []).filter((a) => a.status === "failed").length;
    if (file.status === "failed" && failedTests === 0) {
      failed += 1;
      if (!perProject) {
        failures.push({ name: `${path.relative(repoRoot, file.name)} (the file itself failed)`, message: String(file.message ?? "").slice(0, 1500) });
      }
    }
  }
  const unhandled = perProject?.unhandledErrors ?? [];
  if (unhandled.length) {
    failed += 1;
    failures.push({ name: `vitest: ${unhandled.length} unhandled error(s)`, message: unhandled.join("\n").slice(0, 1500) });
  }
  if (r.status !== 0 && failed === 0) {
    failed += 1;
    failures.push({ name: `vitest exited ${r.status}`, message: r.timedOut ? "timed out" : "see the output above" });
  }
  const seenProjects = perProject ? Object.keys(perProject.projects) : [];
  for (const p of projects) {
    if (perProject && !seenProjects.some((s) => s === p || s.startsWith(`${p} (`))) {
      failed += 1;
      failures.push({ name: `vitest project ${p} ran no test files`, message: "every project must run" });
    }
  }
  const note = perProject
    ? Object.entries(perProject.projects)
        .map(([name, p]) => `${name} ${p.passed}/${p.passed + p.failed + p.skipped}`)
        .join(", ")
    : undefined;
  return { passed, failed, failures, note };
}

// ---------------------------------------------------------------------------------------
// deno: test/deno/*.test.ts against the built dist/esm

async function denoStage() {
  const deno = path.join(repoRoot, "node_modules", ".bin", "deno");
  if (!fs.existsSync(deno)) return { passed: 0, failed: 0, failures: [], error: "deno is not installed (npm devDependency): run `npm run setup`" };
  // smoke.test.ts runs with no permission at all (the library needs none); the Worker
  // tests need read access for Deno to load a Worker's modules.
  const runs = [
    { files: ["test/deno/smoke.test.ts"], flags: [] },
    { files: ["test/deno/worker.test.ts"], flags: [`--allow-read=${path.join(repoRoot, "dist")},${path.join(repoRoot, "test", "deno")}`] },
  ];
  const known = new Set(runs.flatMap((r) => r.files.map((f) => path.basename(f))));
  const other = fs.readdirSync(path.join(repoRoot, "test", "deno")).filter((f) => f.endsWith(".test.ts") && !known.has(f));
  if (other.length) runs.push({ files: other.map((f) => `test/deno/${f}`), flags: [] });
  const total = { passed: 0, failed: 0, failures: [] };
  for (const run of runs) {
    console.log(`deno test --no-prompt ${run.flags.join(" ")} ${run.files.join(" ")}`.replace(/  +/g, " "));
    const r = await runTee(deno, ["test", "--no-prompt", "--no-lock", ...run.flags, ...run.files], {
      env: {
        NO_COLOR: "1",
        DENO_NO_UPDATE_CHECK: "1",
        DENO_DIR: path.join(repoRoot, "node_modules", ".cache", "deno"),
      },
      timeoutMs: 10 * 60_000,
    });
    const out = stripAnsi(r.output);
    const m = /^(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed(?: \| (\d+) ignored)?/m.exec(out);
    if (!m) {
      const errs = out.split("\n").filter((l) => /^(TS\d+ \[ERROR\]|error:)/.test(l)).slice(0, 6).join("\n");
      total.failed += 1;
      total.failures.push({ name: `deno test ${run.files.join(" ")} could not run`, message: `exit ${r.status}, no summary line${errs ? `:\n${errs}` : ""}` });
      continue;
    }
    const passed = Number(m[1]);
    // ignored tests count as failed, as skipped vitest tests do
    const failed = Number(m[2]) + Number(m[3] ?? 0);
    total.passed += passed;
    total.failed += failed;
    const before = total.failures.length;
    const section = out.split(/^ FAILURES\s*$/m)[1] ?? "";
    for (const fm of section.matchAll(/^(.+?) => (\S+)$/gm)) total.failures.push({ name: `deno: ${fm[1]} (${fm[2]})`, message: errorFor(out, fm[1]) });
    if (total.failures.length - before < failed) total.failures.push({ name: `deno: ${failed - (total.failures.length - before)} failed test(s)`, message: "see the output above" });
    if (r.status !== 0 && failed === 0) {
      total.failed += 1;
      total.failures.push({ name: `deno test ${run.files.join(" ")} exited ${r.status}`, message: "see the output above" });
    }
  }
  return total;
}

function errorFor(out, testName) {
  const errors = out.split(/^ ERRORS\s*$/m)[1] ?? "";
  const i = errors.indexOf(`${testName} =>`);
  return i < 0 ? "" : errors.slice(i, i + 1200).split("\n").slice(1, 8).join("\n").trim();
}

// ---------------------------------------------------------------------------------------
// pack: the published package, installed

async function packStage() {
  const { runPackChecks } = await import(pathToFileURL(path.join(repoRoot, "test", "pack", "run.mjs")).href);
  const results = await runPackChecks({ chromium: findChromium() });
  return {
    passed: results.filter((r) => r.ok).length,
    failed: results.filter((r) => !r.ok).length,
    failures: results.filter((r) => !r.ok).map((r) => ({ name: r.name, message: r.message })),
  };
}

// ---------------------------------------------------------------------------------------
// demo: the web demo page (npm run demo) in headless Chromium (test/demo/run.mjs)

async function demoStage() {
  const { runDemoChecks } = await import(pathToFileURL(path.join(repoRoot, "test", "demo", "run.mjs")).href);
  const results = await runDemoChecks({ chromium: findChromium() });
  return {
    passed: results.filter((r) => r.ok).length,
    failed: results.filter((r) => !r.ok).length,
    failures: results.filter((r) => !r.ok).map((r) => ({ name: r.name, message: r.message })),
  };
}

// ---------------------------------------------------------------------------------------

const t0 = Date.now();
for (const f of [path.join(repoRoot, "dist", "esm", "index.js"), path.join(repoRoot, "dist", "simd.wasm")]) {
  if (!fs.existsSync(f)) console.warn(`test: ${path.relative(repoRoot, f)} is missing: run \`npm run build\` (npm test does)`);
}
if (soakOnly) {
  await stage("vitest", vitestStage);
} else {
  await stage("rust", rustStage);
  await stage("rust-wasm", rustWasmStage);
  await stage("size", sizeStage);
  await stage("vitest", vitestStage);
  await stage("deno", denoStage);
  await stage("pack", packStage);
  if (fs.existsSync(path.join(repoRoot, "test", "demo", "run.mjs"))) await stage("demo", demoStage);
}

banner("summary");
for (const line of stageSummaries) console.log(`  ${line}`);
if (failures.length) {
  console.log(red(bold(`\n${failures.length} failure(s):`)));
  for (const f of failures) {
    console.log(red(`  FAIL [${f.stage}] ${f.name}`));
    if (f.message) console.log(f.message.split("\n").map((l) => `       ${l}`).join("\n"));
  }
}
console.log(`\ntotal time ${((Date.now() - t0) / 1000).toFixed(0)} s`);
console.log(`${totals.passed} passed, ${totals.failed} failed`);
process.exit(totals.failed > 0 ? 1 : 0);
