#!/usr/bin/env node
// Makes this machine ready to build and test mse-wasm, installing only what is missing:
//   - a Rust toolchain with the wasm32-unknown-unknown std (rustup + `rustup target add
//     wasm32-unknown-unknown`, or Debian's rustc, cargo, libstd-rust-dev-wasm32, lld-14);
//   - binaryen (wasm-opt) and wabt (wasm-objdump) for the optimised, verified build;
//   - Chromium, when the browser tests will run (npm test): the distribution's package, or
//     where there is none that is a real browser (Ubuntu's is a snap wrapper) the one
//     `playwright install chromium` downloads. A failed browser install is recorded and not
//     retried by the automatic setup of every npm script; `npm run setup` retries it;
//   - the npm devDependencies (npm ci when node_modules is missing or differs from
//     package-lock.json).
// As root on Debian/Ubuntu it runs apt-get for the system packages; otherwise it stops
// and says exactly what to install. Nothing is touched when everything is present.
//
//   node scripts/setup.mjs              everything, Chromium included
//   node scripts/setup.mjs --no-browser skip Chromium
import fs from "node:fs";
import path from "node:path";
import {
  repoRoot,
  run,
  which,
  isMain,
  findRustToolchain,
  findWasmOpt,
  findWasmObjdump,
  findChromium,
  canUseApt,
  playwrightChromium,
  npmDepsProblems,
  APT_RUST_PACKAGES,
  WASM_TARGET,
} from "./lib/toolchain.mjs";

class SetupError extends Error {}

function say(msg) {
  console.log(`setup: ${msg}`);
}

/** What is missing, as apt packages plus human descriptions. */
function survey({ browser, fresh = false }) {
  const { toolchain, rejected } = findRustToolchain({ fresh });
  const missing = [];
  if (!toolchain) missing.push({ what: `Rust with the ${WASM_TARGET} std`, apt: APT_RUST_PACKAGES, required: true, rejected });
  if (!findWasmOpt()) missing.push({ what: "wasm-opt (binaryen)", apt: ["binaryen"], required: false });
  if (!findWasmObjdump()) missing.push({ what: "wasm-objdump (wabt)", apt: ["wabt"], required: false });
  if (browser && !findChromium()) {
    missing.push({ what: "Chromium (browser tests; or set CHROMIUM_PATH)", apt: ["chromium"], required: false, browser: true });
  }
  return { toolchain, missing };
}

function aptEnv() {
  return { DEBIAN_FRONTEND: "noninteractive", NEEDRESTART_MODE: "a" };
}

/** Does apt know a package by this name (after apt-get update)? */
function aptHas(pkg) {
  const r = run("apt-cache", ["show", "--no-all-versions", pkg], { capture: true });
  return r.ok && /^Package:/m.test(r.stdout);
}

/**
 * Debian's rustc runs `rust-lld`, a symlink to the lld of the LLVM it was built with
 * (lld-14 on Debian 12). Read the wanted name off the symlink when rustc is already
 * there; otherwise take lld-14, or the distribution's default lld.
 */
function lldPackage() {
  try {
    const target = path.basename(fs.readlinkSync("/usr/bin/rust-lld"));
    if (/^lld(-\d+)?$/.test(target)) return target;
  } catch {
    /* not a symlink, or absent */
  }
  return aptHas("lld-14") ? "lld-14" : "lld";
}

/**
 * The distribution's Chromium package, or null. Debian ships "chromium"; Ubuntu has only
 * "chromium-browser", a wrapper that installs the snap, which fails in containers (and a
 * transitional "chromium" that depends on snapd would do the same).
 */
function chromiumPackage() {
  const r = run("apt-cache", ["show", "--no-all-versions", "chromium"], { capture: true });
  if (!r.ok || !/^Package:/m.test(r.stdout)) return null;
  return /^(Pre-)?Depends:.*\bsnapd\b/m.test(r.stdout) ? null : "chromium";
}

/** Records a failed browser install (see setup), so only `npm run setup` tries again. */
const BROWSER_MARKER = path.join(repoRoot, "node_modules", ".cache", "mse-wasm", "browser-install-failed");

/**
 * Downloads Playwright's Chromium (with its system libraries through apt when root on
 * Debian/Ubuntu). True when a browser is there afterwards.
 */
function downloadChromium() {
  const cli = path.join(repoRoot, "node_modules", "playwright-core", "cli.js");
  if (!fs.existsSync(cli)) return false;
  const args = [cli, "install", ...(canUseApt() ? ["--with-deps"] : []), "chromium"];
  say(`no usable Chromium from the distribution: playwright ${args.slice(1).join(" ")}`);
  const r = run(process.execPath, args, { env: aptEnv(), timeout: 20 * 60 * 1000 });
  if (!r.ok) say(`warning: playwright install failed (exit ${r.status})`);
  return playwrightChromium() !== null;
}

function aptGetInstall(list, { recommends = false } = {}) {
  const flags = recommends ? ["-y"] : ["-y", "--no-install-recommends"];
  say(`apt-get install ${flags.join(" ")} ${list.join(" ")}`);
  return run("apt-get", ["install", ...flags, ...list], { env: aptEnv() }).ok;
}

function aptInstall(missing) {
  say("apt-get update");
  const up = run("apt-get", ["update"], { env: aptEnv() });
  if (!up.ok) say(`warning: apt-get update failed (exit ${up.status}); trying the install anyway`);
  const main = new Set();
  let browser = false;
  for (const m of missing) {
    for (const p of m.apt) {
      if (p === "chromium") browser = true;
      else if (p === "lld-14") main.add(lldPackage());
      else main.add(p);
    }
  }
  if (main.size > 0) {
    const ok = aptGetInstall([...main]);
    if (!ok && missing.some((m) => m.required)) throw new SetupError(`apt-get install ${[...main].join(" ")} failed`);
    if (!ok) say("warning: the apt-get install failed; continuing without the optional tools");
    // If rustc came with a rust-lld symlink to another lld than the one guessed, add it.
    if (ok && !fs.existsSync("/usr/bin/rust-lld")) {
      const lld = lldPackage();
      if (!main.has(lld)) aptGetInstall([lld]);
    }
  }
  // Separately: a browser that cannot be installed fails the browser tests, not the setup.
  // With its recommends (fonts among them), as TOOLCHAIN.md's checked install does.
  if (browser) {
    const pkg = chromiumPackage();
    if (pkg === null) say("apt has no Chromium package that is a real browser; Playwright's comes after the npm install");
    else if (!aptGetInstall([pkg], { recommends: true })) say("warning: apt-get install chromium failed");
  }
}

function manualInstructions(missing, triedApt) {
  const lines = [
    triedApt
      ? "these are still missing after apt-get install:"
      : "these are missing and setup cannot install them (it needs root and apt-get):",
  ];
  for (const m of missing) {
    lines.push(`  - ${m.what}${m.required ? "" : " (optional)"}`);
    for (const r of m.rejected ?? []) lines.push(`      ${r}`);
  }
  lines.push("Install them with one of:");
  lines.push("  rustup target add wasm32-unknown-unknown   # with a rustup toolchain >= 1.63");
  const apt = [...new Set(missing.flatMap((m) => m.apt))];
  lines.push(`  sudo apt-get install -y --no-install-recommends ${apt.join(" ")}   # Debian/Ubuntu`);
  lines.push("then run `npm run setup` again.");
  return lines.join("\n");
}

function npmInstall() {
  const problems = npmDepsProblems();
  if (problems.length === 0) return false;
  const npm = which("npm");
  if (!npm) throw new SetupError("npm is not on PATH; install Node.js >= 20 with npm");
  const hasLock = fs.existsSync(path.join(repoRoot, "package-lock.json"));
  const args = hasLock ? ["ci", "--no-audit", "--no-fund"] : ["install", "--no-audit", "--no-fund"];
  say(`node_modules is not current (${problems.slice(0, 3).join("; ")}${problems.length > 3 ? "; ..." : ""})`);
  say(`npm ${args.join(" ")}`);
  const res = run(npm, args, {
    // No browser download inside npm: setup chooses the browser itself (the distribution's
    // Chromium, else Playwright's via downloadChromium below).
    env: { PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: "1", npm_config_audit: "false", npm_config_fund: "false" },
  });
  if (!res.ok) throw new SetupError(`npm ${args[0]} failed (exit ${res.status})`);
  const left = npmDepsProblems();
  if (left.length) throw new SetupError(`after npm ${args[0]}, node_modules is still not current: ${left.join("; ")}`);
  return true;
}

/**
 * Installs what is missing. Throws SetupError (with instructions) when a required piece
 * cannot be installed. Returns true when it changed something.
 * @param {{ browser?: boolean, quiet?: boolean }} [options]
 */
export function setup({ browser = true, quiet = false } = {}) {
  let changed = false;
  let triedApt = false;
  // A browser install that failed is not retried by the automatic (quiet) setup before
  // every npm script: that would be an apt-get update and a download each time.
  const failedBefore = browser && quiet && fs.existsSync(BROWSER_MARKER) && !findChromium();
  if (failedBefore) {
    const when = fs.readFileSync(BROWSER_MARKER, "utf8").trim();
    say(`warning: no Chromium; installing it failed (${when}), so the browser tests will fail. Set CHROMIUM_PATH, or run \`npm run setup\` to try again`);
    browser = false;
  }
  let { toolchain, missing } = survey({ browser });
  if (missing.length > 0 && canUseApt()) {
    aptInstall(missing);
    changed = triedApt = true;
    ({ toolchain, missing } = survey({ browser, fresh: true }));
  }
  const required = missing.filter((m) => m.required);
  if (required.length > 0) throw new SetupError(manualInstructions(missing, triedApt));
  // (The browser has its own last resort below.)
  for (const m of missing) if (!m.browser) say(`warning: ${m.what} is missing: ${m.apt.join(" ")} (apt) would provide it`);
  if (!toolchain.wasiTarget) {
    say("warning: no wasm32-wasi std, so the crate's tests cannot run as wasm (rustup target add wasm32-wasip1)");
  }

  if (npmInstall()) changed = true;
  if (browser) {
    if (!findChromium() && downloadChromium()) changed = true;
    if (findChromium()) {
      fs.rmSync(BROWSER_MARKER, { force: true });
    } else {
      fs.mkdirSync(path.dirname(BROWSER_MARKER), { recursive: true });
      fs.writeFileSync(BROWSER_MARKER, `${new Date().toISOString()}\n`);
      say("warning: no Chromium could be installed; the browser tests will fail (or set CHROMIUM_PATH)");
    }
  }

  if (!quiet || changed) {
    say(
      `rust: ${toolchain.kind} rustc ${toolchain.version} (${toolchain.rustc}, cargo ${toolchain.cargoVersion}) with ${WASM_TARGET}` +
        (toolchain.wasiTarget ? ` and ${toolchain.wasiTarget}` : ""),
    );
    say(`wasm-opt: ${findWasmOpt() ?? "missing"}; wasm-objdump: ${findWasmObjdump() ?? "missing"}`);
    if (browser) say(`chromium: ${findChromium() ?? "missing"}`);
    say("npm dependencies: current with package-lock.json");
    say("ready");
  }
  return changed;
}

export { SetupError };

if (isMain(import.meta.url)) {
  try {
    setup({ browser: !process.argv.includes("--no-browser") });
  } catch (e) {
    console.error(`setup: FAILED: ${e instanceof SetupError ? e.message : e.stack}`);
    process.exit(1);
  }
}
