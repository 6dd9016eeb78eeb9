#!/usr/bin/env node
// Builds mse-wasm: crate/ twice for wasm32-unknown-unknown (SIMD128 into target/simd,
// scalar into target/scalar), wasm-opt when available, checks that the SIMD build has
// f32x4 code and the scalar build none (and no bulk-memory instructions: the SIMD build
// uses them, every engine with SIMD128 has them, older ones may not), inlines both as
// base64 into ts/wasm/*.ts, copies
// the .wasm files to dist/, then compiles ts/ to dist/esm (ESM + .d.ts) and dist/cjs
// (CommonJS + .d.ts). Each stage runs only when its inputs are newer than its outputs.
//
//   node scripts/build.mjs            build what is stale
//   node scripts/build.mjs --force    rebuild everything
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import {
  repoRoot,
  run,
  isMain,
  cargoEnv,
  findRustToolchain,
  findWasmOpt,
  findWasmObjdump,
  newestMtime,
  mtime,
  fmtBytes,
  WASM_TARGET,
} from "./lib/toolchain.mjs";

const CRATE_NAME = "mse_wasm";
const r = (...p) => path.join(repoRoot, ...p);
const rel = (p) => path.relative(repoRoot, p) || ".";

export const VARIANTS = {
  simd: {
    // bulk memory: memset/memcpy become memory.fill/memory.copy (the axis walk zeroes 20
    // KiB of stack per call: ~1.5 us as a software loop; measured 4-14% faster calls).
    rustflags: "-C target-feature=+simd128,+bulk-memory",
    targetDir: r("target", "simd"),
    wasmOut: r("dist", "simd.wasm"),
    tsOut: r("ts", "wasm", "simd.ts"),
    constName: "SIMD_WASM_BASE64",
    describe: "SIMD128 build",
  },
  scalar: {
    rustflags: "",
    targetDir: r("target", "scalar"),
    wasmOut: r("dist", "scalar.wasm"),
    tsOut: r("ts", "wasm", "scalar.ts"),
    constName: "SCALAR_WASM_BASE64",
    describe: "scalar (non-SIMD) build",
  },
};

const STAMP = r("target", "mse-wasm-build.json");
const SIMD_OPS = /\b(?:v128|i8x16|i16x8|i32x4|i64x2|f32x4|f64x2)\.[a-z_0-9]+/;
const BULK_MEMORY_OPS = /\b(?:memory\.(?:fill|copy|init)|data\.drop)\b/;

export class BuildError extends Error {}

function log(msg) {
  console.log(`build: ${msg}`);
}

function readStamp() {
  try {
    return JSON.parse(fs.readFileSync(STAMP, "utf8"));
  } catch {
    return {};
  }
}

function writeStamp(stamp) {
  fs.mkdirSync(path.dirname(STAMP), { recursive: true });
  fs.writeFileSync(STAMP, JSON.stringify(stamp, null, 2) + "\n");
}

function wasmInputsMtime() {
  return newestMtime([
    r("crate", "src"),
    r("crate", "Cargo.toml"),
    r("Cargo.toml"),
    r("Cargo.lock"),
    r("scripts", "build.mjs"),
  ]);
}

function tsInputsMtime() {
  return newestMtime([r("ts"), r("tsconfig.json"), r("tsconfig.cjs.json"), r("scripts", "build.mjs")]);
}

function cargoBuild(toolchain, variant) {
  const v = VARIANTS[variant];
  const args = [
    "build",
    "--release",
    "--offline",
    "--target",
    WASM_TARGET,
    "--manifest-path",
    r("crate", "Cargo.toml"),
    "--target-dir",
    v.targetDir,
  ];
  log(`cargo build (${v.describe}, ${toolchain.kind} rustc ${toolchain.version}) -> ${rel(v.targetDir)}`);
  const res = run(toolchain.cargo, args, {
    env: cargoEnv(toolchain.env, v.rustflags, WASM_TARGET),
  });
  if (!res.ok) throw new BuildError(`cargo build of the ${v.describe} failed (exit ${res.status})`);
  const artefact = path.join(v.targetDir, WASM_TARGET, "release", `${CRATE_NAME}.wasm`);
  if (!fs.existsSync(artefact)) throw new BuildError(`cargo succeeded but ${rel(artefact)} is missing`);
  return artefact;
}

function optimise(variant, artefact, wasmOpt) {
  const v = VARIANTS[variant];
  const raw = fs.readFileSync(artefact);
  if (!wasmOpt) {
    log(`wasm-opt not found (Debian: apt-get install binaryen); ${variant} left unoptimised`);
    return { bytes: raw, raw: raw.length, note: "no wasm-opt" };
  }
  const optPath = path.join(v.targetDir, `${CRATE_NAME}.opt.wasm`);
  // --low-memory-unused lets optimize-added-constants fold `load(p + C)` into the load's
  // offset: the crate's memory below 1 KiB is never addressed (the stack ends at 1 MiB,
  // data and heap lie above it), so no address computation can wrap into it. V8 then
  // needs no separate add per load (the gradient kernel ran ~20% faster, A/B).
  const fold = ["--low-memory-unused", "--optimize-added-constants-propagate"];
  const flags = variant === "simd" ? ["-O3", "--enable-simd", "--enable-bulk-memory", ...fold] : ["-O3", ...fold];
  const res = run(wasmOpt, [...flags, artefact, "-o", optPath], { capture: true });
  if (!res.ok) {
    log(`wasm-opt ${flags.join(" ")} failed on the ${variant} build; keeping the cargo output:\n${res.stderr.trim()}`);
    return { bytes: raw, raw: raw.length, note: "wasm-opt failed" };
  }
  const opt = fs.readFileSync(optPath);
  if (variant === "simd" && opt.length > raw.length) {
    // wasm-opt does not shrink or speed up the SIMD build reliably (see TOOLCHAIN.md).
    return { bytes: raw, raw: raw.length, note: `wasm-opt result (${opt.length} B) bigger, kept cargo output` };
  }
  return { bytes: opt, raw: raw.length, note: `wasm-opt ${flags.join(" ")}` };
}

function verify(variant, bytes, wasmObjdump) {
  const v = VARIANTS[variant];
  const problems = [];
  // Instantiating proves the module validates in this engine and that its mse_simd()
  // export agrees with the variant it was built as.
  let mod;
  try {
    mod = new WebAssembly.Module(bytes);
  } catch (e) {
    throw new BuildError(`the ${v.describe} does not validate: ${e.message}`);
  }
  const imports = WebAssembly.Module.imports(mod);
  const exports = WebAssembly.Module.exports(mod).map((e) => e.name);
  if (imports.length === 0 && exports.includes("mse_simd")) {
    const inst = new WebAssembly.Instance(mod, {});
    const flag = inst.exports.mse_simd();
    const want = variant === "simd" ? 1 : 0;
    if (flag !== want) problems.push(`mse_simd() returns ${flag}, expected ${want}`);
  } else if (imports.length > 0) {
    problems.push(`the module imports ${imports.map((i) => `${i.module}.${i.name}`).join(", ")}; it must be self-contained`);
  } else {
    problems.push("the module does not export mse_simd");
  }

  if (wasmObjdump) {
    const tmp = path.join(v.targetDir, `${CRATE_NAME}.verify.wasm`);
    fs.writeFileSync(tmp, bytes);
    const dis = run(wasmObjdump, ["-d", tmp], { capture: true });
    if (!dis.ok) {
      problems.push(`wasm-objdump -d failed: ${dis.stderr.trim()}`);
    } else if (variant === "simd") {
      if (!/\bf32x4\.mul\b/.test(dis.stdout)) problems.push("no f32x4.mul instruction: SIMD128 code was not emitted");
    } else {
      const m = SIMD_OPS.exec(dis.stdout) ?? BULK_MEMORY_OPS.exec(dis.stdout);
      if (m) problems.push(`contains the instruction ${m[0]}, which engines without SIMD128 may not have`);
    }
  } else {
    log(`wasm-objdump not found (Debian: apt-get install wabt); skipped the ${variant} instruction check`);
  }
  if (problems.length) throw new BuildError(`the ${v.describe} is wrong: ${problems.join("; ")}`);
  return exports.length;
}

function writeIfChanged(file, content) {
  try {
    if (fs.readFileSync(file, "utf8") === content) return false;
  } catch {
    /* missing */
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return true;
}

function buildWasm(toolchain, variant, stamp) {
  const v = VARIANTS[variant];
  const wasmOpt = findWasmOpt();
  const wasmObjdump = findWasmObjdump();
  const artefact = cargoBuild(toolchain, variant);
  const opt = optimise(variant, artefact, wasmOpt);
  const nExports = verify(variant, opt.bytes, wasmObjdump);
  const ts =
    `// Generated by scripts/build.mjs from crate/ (${v.describe}). Do not edit.\n` +
    `export const ${v.constName} =\n  "${opt.bytes.toString("base64")}";\n`;
  const changed = writeIfChanged(v.tsOut, ts);
  fs.mkdirSync(path.dirname(v.wasmOut), { recursive: true });
  fs.writeFileSync(v.wasmOut, opt.bytes); // always rewritten: its mtime marks the stage done
  stamp[variant] = { size: opt.bytes.length, cargoSize: opt.raw, note: opt.note, exports: nExports };
  log(
    `${variant}: ${fmtBytes(opt.bytes.length)} (cargo ${opt.raw} B; ${opt.note}; ${nExports} exports) -> ` +
      `${rel(v.wasmOut)}, ${rel(v.tsOut)}${changed ? "" : " (unchanged)"}`,
  );
}

/** What the TypeScript emits must have written (checked after it, and for staleness). */
const TS_OUTPUTS = [r("dist", "esm", "index.js"), r("dist", "esm", "index.d.ts"), r("dist", "cjs", "index.js"), r("dist", "cjs", "index.d.ts")];

function tsc(project, flags) {
  const tscJs = r("node_modules", "typescript", "bin", "tsc");
  if (!fs.existsSync(tscJs)) throw new BuildError("typescript is not installed: run `npm run setup` (or npm ci)");
  log(`tsc -p ${project} ${flags.join(" ")}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tscJs, "-p", r(project), ...flags], { cwd: repoRoot, stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve() : reject(new BuildError(`tsc -p ${project} failed (exit ${code})`))));
  });
}

async function buildTs() {
  if (!fs.existsSync(r("ts", "index.ts"))) throw new BuildError("ts/index.ts does not exist yet");
  for (const dir of ["esm", "cjs"]) fs.rmSync(r("dist", dir), { recursive: true, force: true });
  // The JavaScript ships without comments (they were a third of the gzipped JS, which users
  // download); the declarations keep them (editors show them). The emits are independent:
  // run them side by side. The ESM and CommonJS declarations are the same text, so the
  // CommonJS ones are copies.
  const js = ["--removeComments", "--declaration", "false"];
  const results = await Promise.allSettled([
    tsc("tsconfig.json", js),
    tsc("tsconfig.cjs.json", js),
    tsc("tsconfig.json", ["--emitDeclarationOnly"]),
  ]);
  const failed = results.find((x) => x.status === "rejected");
  if (failed) throw failed.reason;
  const copyDeclarations = (from, to) => {
    for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
      const src = path.join(from, entry.name);
      const dst = path.join(to, entry.name);
      if (entry.isDirectory()) copyDeclarations(src, dst);
      else if (entry.name.endsWith(".d.ts")) {
        fs.mkdirSync(to, { recursive: true });
        fs.copyFileSync(src, dst);
      }
    }
  };
  copyDeclarations(r("dist", "esm"), r("dist", "cjs"));
  // dist/cjs/*.js are CommonJS inside a "type": "module" package.
  fs.writeFileSync(r("dist", "cjs", "package.json"), JSON.stringify({ type: "commonjs" }, null, 2) + "\n");
  for (const f of TS_OUTPUTS) {
    if (!fs.existsSync(f)) throw new BuildError(`tsc did not write ${rel(f)}`);
  }
}

/**
 * Builds what is stale. Throws BuildError with a readable message on failure.
 * @param {{ force?: boolean, quiet?: boolean }} [options]
 */
export async function build({ force = false, quiet = false } = {}) {
  const { toolchain, rejected } = findRustToolchain();
  if (!toolchain) {
    throw new BuildError(
      `no Rust toolchain with the ${WASM_TARGET} standard library:\n  - ${rejected.join("\n  - ")}\n` +
        "Run `npm run setup` (installs it on Debian/Ubuntu as root), or `rustup target add wasm32-unknown-unknown`.",
    );
  }
  const stamp = readStamp();
  const toolsId = `${toolchain.id}|wasm-opt:${findWasmOpt() ?? "-"}|wasm-objdump:${findWasmObjdump() ?? "-"}`;
  const toolsChanged = stamp.tools !== toolsId;
  const wasmNewest = wasmInputsMtime();
  let didSomething = false;

  for (const variant of Object.keys(VARIANTS)) {
    const v = VARIANTS[variant];
    const done = Math.min(mtime(v.wasmOut), mtime(v.tsOut));
    if (force || toolsChanged || done < 0 || wasmNewest > mtime(v.wasmOut)) {
      buildWasm(toolchain, variant, stamp);
      didSomething = true;
    }
  }
  stamp.tools = toolsId;
  if (didSomething) writeStamp(stamp);

  const tsDone = Math.min(...[...TS_OUTPUTS, r("dist", "cjs", "package.json")].map(mtime));
  if (force || tsDone < 0 || tsInputsMtime() > tsDone) {
    await buildTs();
    didSomething = true;
  }
  if (!didSomething && !quiet) log("up to date");
  return { toolchain, rebuilt: didSomething };
}

if (isMain(import.meta.url)) {
  try {
    const t0 = Date.now();
    const { rebuilt } = await build({ force: process.argv.includes("--force") });
    if (rebuilt) {
      const { measureSizes, printSizes } = await import("./size.mjs");
      printSizes(measureSizes());
      log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
  } catch (e) {
    console.error(`build: FAILED: ${e instanceof BuildError ? e.message : e.stack}`);
    process.exit(1);
  }
}
