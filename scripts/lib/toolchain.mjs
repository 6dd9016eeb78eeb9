// Shared helpers for the setup, build and test scripts: where the repo is, how to run a
// command, and which tools (Rust with the wasm32 std, binaryen, wabt, Chromium, npm deps)
// this machine has. Plain Node, no dependencies: it must work before `npm ci` has run.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const WASM_TARGET = "wasm32-unknown-unknown";
export const MIN_RUST = [1, 63];
export const APT_RUST_PACKAGES = ["rustc", "cargo", "libstd-rust-dev-wasm32", "lld-14"];

/** True when `importMetaUrl` belongs to the script Node was started with. */
export function isMain(importMetaUrl) {
  return process.argv[1] !== undefined && importMetaUrl === pathToFileURL(path.resolve(process.argv[1])).href;
}

/** Runs a command; stdio inherited unless `capture`. Never throws on a non-zero exit. */
export function run(cmd, args, { capture = false, env, cwd = repoRoot, input, timeout } = {}) {
  const r = spawnSync(cmd, args, {
    cwd,
    env: mergeEnv(env),
    stdio: capture ? ["pipe", "pipe", "pipe"] : ["ignore", "inherit", "inherit"],
    encoding: "utf8",
    input,
    timeout,
    maxBuffer: 256 * 1024 * 1024,
  });
  return {
    status: r.status ?? (r.error ? 127 : 1),
    stdout: r.stdout ?? "",
    stderr: r.stderr ?? "",
    error: r.error,
    ok: r.status === 0,
  };
}

/** process.env plus `extra`; a key whose value is undefined is removed. */
export function mergeEnv(extra) {
  const env = { ...process.env };
  for (const [k, v] of Object.entries(extra ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/**
 * The environment of a cargo run: the toolchain's variables with `rustflags` as the only
 * flags. The other ways to pass flags would override RUSTFLAGS and silently mix builds,
 * so they are cleared.
 */
export function cargoEnv(toolchainEnv, rustflags, target) {
  const env = {
    ...toolchainEnv,
    RUSTFLAGS: rustflags,
    CARGO_ENCODED_RUSTFLAGS: undefined,
    CARGO_BUILD_RUSTFLAGS: undefined,
    CARGO_TERM_COLOR: "never",
  };
  if (target) env[`CARGO_TARGET_${target.toUpperCase().replace(/-/g, "_")}_RUSTFLAGS`] = undefined;
  return env;
}

/** Absolute path of an executable found on PATH, or null. */
export function which(name) {
  if (name.includes("/")) return isExecutable(name) ? name : null;
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    if (isExecutable(p)) return p;
  }
  return null;
}

function isExecutable(p) {
  try {
    const st = fs.statSync(p); // follows symlinks: a dangling rust-lld -> lld-14 is "absent"
    if (!st.isFile()) return false;
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function realpathOrNull(p) {
  try {
    return fs.realpathSync(p);
  } catch {
    return null;
  }
}

function parseVersion(text) {
  const m = /(\d+)\.(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

function versionAtLeast(v, min) {
  for (let i = 0; i < min.length; i++) {
    if ((v[i] ?? 0) !== min[i]) return (v[i] ?? 0) > min[i];
  }
  return true;
}

/**
 * Looks for a Rust toolchain whose standard library includes wasm32-unknown-unknown.
 * Candidates, in order: the `rustc`/`cargo` first on PATH (a rustup toolchain after
 * `rustup target add wasm32-unknown-unknown`), then Debian's /usr/bin pair
 * (rustc + cargo + libstd-rust-dev-wasm32 + lld-14). Debian's pair is driven explicitly
 * (RUSTC, RUSTDOC set): rustup's proxies usually come first on PATH and rustup's cargo
 * cannot drive Debian's rustc.
 * Returns { toolchain, rejected } where toolchain is null when none qualifies and
 * rejected lists why each candidate was refused. The answer (about 0.3 s of probing) is
 * kept for the process: setup and build, or test.mjs's two cargo stages, ask once;
 * `fresh` probes again (after an install).
 */
export function findRustToolchain({ fresh = false } = {}) {
  if (fresh || rustProbe === null) rustProbe = probeRustToolchain();
  return rustProbe;
}

let rustProbe = null;

function probeRustToolchain() {
  const rejected = [];
  const candidates = [];
  const pathRustc = which("rustc");
  const pathCargo = which("cargo");
  if (pathRustc && pathCargo) candidates.push({ kind: "path", rustc: pathRustc, cargo: pathCargo });
  else rejected.push("no `rustc` and `cargo` on PATH");
  const debRustc = "/usr/bin/rustc";
  const debCargo = "/usr/bin/cargo";
  if (isExecutable(debRustc) && isExecutable(debCargo)) {
    const samePair =
      candidates.length > 0 &&
      realpathOrNull(candidates[0].rustc) === realpathOrNull(debRustc) &&
      realpathOrNull(candidates[0].cargo) === realpathOrNull(debCargo);
    if (!samePair) candidates.push({ kind: "debian", rustc: debRustc, cargo: debCargo });
    else candidates[0].kind = "debian";
  } else {
    rejected.push("no Debian /usr/bin/rustc + /usr/bin/cargo");
  }

  for (const c of candidates) {
    const env = c.kind === "debian" ? debianEnv(c) : {};
    const vv = run(c.rustc, ["-vV"], { capture: true, env });
    if (!vv.ok) {
      rejected.push(`${c.rustc}: \`rustc -vV\` failed: ${(vv.stderr || String(vv.error)).trim().split("\n")[0]}`);
      continue;
    }
    const version = parseVersion(vv.stdout);
    const host = /^host:\s*(\S+)/m.exec(vv.stdout)?.[1] ?? "";
    if (!version || !versionAtLeast(version, MIN_RUST)) {
      rejected.push(`${c.rustc}: rustc ${version?.join(".") ?? "?"} is older than ${MIN_RUST.join(".")}`);
      continue;
    }
    const sr = run(c.rustc, ["--print", "sysroot"], { capture: true, env });
    const sysroot = sr.stdout.trim();
    const wasmLib = path.join(sysroot, "lib", "rustlib", WASM_TARGET, "lib");
    let hasCore = false;
    try {
      hasCore = fs.readdirSync(wasmLib).some((f) => f.startsWith("libcore-") && f.endsWith(".rlib"));
    } catch {
      /* no such dir */
    }
    if (!sr.ok || !hasCore) {
      rejected.push(`${c.rustc} (rustc ${version.join(".")}, sysroot ${sysroot || "?"}): no ${WASM_TARGET} standard library`);
      continue;
    }
    // rustup ships rust-lld inside the toolchain; Debian's rustc runs /usr/bin/rust-lld,
    // a symlink to lld-14 that dangles until lld-14 is installed.
    const bundledLld = path.join(sysroot, "lib", "rustlib", host, "bin", "rust-lld");
    const lld = isExecutable(bundledLld) ? bundledLld : which("rust-lld");
    if (!lld) {
      rejected.push(`${c.rustc}: the ${WASM_TARGET} std is there but the linker rust-lld is not (Debian: install lld-14)`);
      continue;
    }
    // The WASI std lets the crate's own tests run as wasm (SIMD and scalar) in node:wasi.
    const wasiTarget =
      ["wasm32-wasi", "wasm32-wasip1"].find((t) => {
        try {
          return fs.readdirSync(path.join(sysroot, "lib", "rustlib", t, "lib")).some((f) => f.startsWith("libstd-"));
        } catch {
          return false;
        }
      }) ?? null;
    const cv = run(c.cargo, ["--version"], { capture: true, env });
    if (!cv.ok) {
      rejected.push(`${c.cargo}: \`cargo --version\` failed`);
      continue;
    }
    return {
      toolchain: {
        kind: c.kind,
        rustc: c.rustc,
        cargo: c.cargo,
        env,
        version: version.join("."),
        cargoVersion: parseVersion(cv.stdout)?.join(".") ?? "?",
        host,
        sysroot,
        lld,
        wasiTarget,
        id: `${c.kind}:${c.rustc}:${version.join(".")}`,
      },
      rejected,
    };
  }
  return { toolchain: null, rejected };
}

function debianEnv(c) {
  const env = { RUSTC: c.rustc };
  const rustdoc = path.join(path.dirname(c.rustc), "rustdoc");
  // Without this, cargo's doc-tests would run rustup's newer rustdoc against 1.63 rlibs.
  if (isExecutable(rustdoc)) env.RUSTDOC = rustdoc;
  return env;
}

export function findWasmOpt() {
  return which("wasm-opt");
}

export function findWasmObjdump() {
  return which("wasm-objdump");
}

/**
 * Flags for headless Chromium here, as root, with no network but the package registries:
 * without the background-networking ones Chromium keeps dialling hosts it cannot reach.
 */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Whether `p` can be the browser: an executable that is not a wrapper script for a snap
 * that is not there. Ubuntu has no Chromium deb, only `chromium-browser`, whose script runs
 * `/snap/bin/chromium`; in a container without snapd that snap never gets installed, and
 * the script only prints how to install it and exits 1.
 */
export function usableBrowser(p) {
  if (!isExecutable(p)) return false;
  let head = "";
  try {
    const fd = fs.openSync(p, "r");
    try {
      const buf = Buffer.alloc(8192);
      head = buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, 0)).toString("latin1");
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
  if (!head.startsWith("#!")) return true;
  const snaps = head.match(/\/snap\/bin\/[\w.+-]+/g);
  return snaps === null || snaps.some((s) => isExecutable(s));
}

/** Where `playwright install chromium` puts its browser (playwright-core's own answer), if it is there. */
export function playwrightChromium() {
  try {
    const require = createRequire(path.join(repoRoot, "package.json"));
    const p = require("playwright-core").chromium.executablePath();
    return typeof p === "string" && isExecutable(p) ? p : null;
  } catch {
    return null; // playwright-core not installed yet
  }
}

/**
 * The Chromium used by the browser tests and the packed-package page test:
 * $CHROMIUM_PATH, else the distribution's chromium, else a Chrome on PATH, else the
 * browser `playwright install chromium` downloaded (what setup installs where the
 * distribution has no usable Chromium, as on Ubuntu).
 */
export function findChromium() {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return usableBrowser(fromEnv) ? fromEnv : null;
  for (const p of ["/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    if (usableBrowser(p)) return p;
  }
  for (const n of ["chromium", "chromium-browser", "google-chrome-stable", "google-chrome"]) {
    const p = which(n);
    if (p && usableBrowser(p)) return p;
  }
  return playwrightChromium();
}

export function canUseApt() {
  return process.platform === "linux" && typeof process.getuid === "function" && process.getuid() === 0 && which("apt-get") !== null && which("dpkg") !== null;
}

export function glibcVersion() {
  try {
    return process.report?.getReport?.().header?.glibcVersionRuntime ?? null;
  } catch {
    return null;
  }
}

function platformMatches(entry) {
  const matches = (list, value) => {
    if (!Array.isArray(list) || list.length === 0) return true;
    const negated = list.filter((x) => x.startsWith("!")).map((x) => x.slice(1));
    if (negated.includes(value)) return false;
    const positive = list.filter((x) => !x.startsWith("!"));
    return positive.length === 0 || positive.includes(value);
  };
  const libc = glibcVersion() ? "glibc" : "musl";
  return matches(entry.os, process.platform) && matches(entry.cpu, process.arch) && (process.platform !== "linux" || matches(entry.libc, libc));
}

/**
 * Compares node_modules with package-lock.json: every locked top-level package that
 * applies to this platform must be installed at the locked version. Returns a list of
 * problems (empty when node_modules is current).
 */
export function npmDepsProblems() {
  const lockPath = path.join(repoRoot, "package-lock.json");
  const nm = path.join(repoRoot, "node_modules");
  if (!fs.existsSync(nm)) return ["node_modules is missing"];
  let lock;
  try {
    lock = JSON.parse(fs.readFileSync(lockPath, "utf8"));
  } catch {
    // No lock file: only check that each declared devDependency is installed.
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8"));
    const names = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies });
    return names.filter((n) => !fs.existsSync(path.join(nm, n, "package.json"))).map((n) => `${n} is not installed`);
  }
  const problems = [];
  for (const [key, entry] of Object.entries(lock.packages ?? {})) {
    if (!key.startsWith("node_modules/") || entry.link) continue;
    if (entry.optional) {
      // Optional packages count only when they are a platform binary for this machine
      // (deno's, rolldown's, lightningcss's); the rest (wasm fallbacks' helpers) may be absent.
      const platformSpecific = entry.os || entry.cpu || entry.libc;
      if (!platformSpecific || !platformMatches(entry)) continue;
    }
    let installed;
    try {
      installed = JSON.parse(fs.readFileSync(path.join(repoRoot, key, "package.json"), "utf8")).version;
    } catch {
      problems.push(`${key.slice("node_modules/".length)} is not installed`);
      if (problems.length > 5) break;
      continue;
    }
    if (entry.version && installed !== entry.version) {
      problems.push(`${key.slice("node_modules/".length)} is ${installed}, package-lock.json wants ${entry.version}`);
      if (problems.length > 5) break;
    }
  }
  return problems;
}

/** Newest mtime (ms) of the files under `paths` (files or directories); 0 when none. */
export function newestMtime(paths, { filter = () => true } = {}) {
  let newest = 0;
  const visit = (p) => {
    let st;
    try {
      st = fs.statSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      for (const name of fs.readdirSync(p)) visit(path.join(p, name));
    } else if (filter(p)) {
      newest = Math.max(newest, st.mtimeMs);
    }
  };
  for (const p of paths) visit(p);
  return newest;
}

/** mtime (ms) of a file, or -1 when it does not exist. */
export function mtime(p) {
  try {
    return fs.statSync(p).mtimeMs;
  } catch {
    return -1;
  }
}

export function fmtBytes(n) {
  return n >= 1024 ? `${n} B (${(n / 1024).toFixed(1)} KiB)` : `${n} B`;
}
