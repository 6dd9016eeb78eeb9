// Packed-package smoke tests: what a user gets from `npm install mse-wasm`.
// `npm pack` the repo into a temp dir, install the tarball into a temp consumer project,
// then use it the ways the README promises: ESM import and CommonJS require in Node,
// TypeScript types (nodenext, ESM and CJS), Deno `npm:mse-wasm`, and a Vite-bundled page
// in headless Chromium. Every consumer prints `RESULT <json>`; this driver checks the
// numbers against the PyTorch seeds in test/fixtures/forward.json.
//
// Called by scripts/test.mjs (runPackChecks); also runnable alone:
//   node test/pack/run.mjs       (uses the current dist/; run `npm run build` first)
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { CHROMIUM_ARGS } from "../../scripts/lib/toolchain.mjs";

const CHECKS = {
  esm: "ESM import",
  esmScalar: "ESM import, init({ simd: false })",
  cjs: "CommonJS require",
  types: "TypeScript types (nodenext, .mts import and .cts require)",
  deno: "Deno npm:mse-wasm",
  vite: "Vite page in Chromium",
};
const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "..", "..");
/** Runs a command, collecting output; resolves { status, stdout, stderr }. */
function exec(cmd, args, { cwd, env, timeoutMs = 180_000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${timeoutMs / 1000} s]`;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ status: 127, stdout, stderr: stderr + String(e) });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ status: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}

function tail(text, lines = 25) {
  const all = text.trim().split("\n");
  return all.slice(-lines).join("\n");
}

function seeds() {
  const forward = JSON.parse(fs.readFileSync(path.join(repoRoot, "test", "fixtures", "forward.json"), "utf8"));
  const get = (name) => {
    const c = forward.cases.find((x) => x.name === name);
    if (!c) throw new Error(`test/fixtures/forward.json has no case "${name}"`);
    return c;
  };
  return { seed4: get("seed-4 float64"), seed33: get("seed-3x3 float64") };
}

/** Checks a consumer's RESULT against the PyTorch fixture values; returns problems. */
function checkResult(result, { backend = "simd" } = {}) {
  const { seed4, seed33 } = seeds();
  const problems = [];
  const close = (what, got, want, tol) => {
    if (typeof got !== "number" || !(Math.abs(got - want) <= tol * Math.abs(want))) {
      problems.push(`${what} = ${JSON.stringify(got)}, PyTorch gives ${want}`);
    }
  };
  if (result.backend !== backend) problems.push(`backend() = ${JSON.stringify(result.backend)}, expected "${backend}"`);
  close("mean of the 4-element seed", result.mean4, seed4.results.mean.value, 1e-15);
  close("sum of the 4-element seed", result.sum4, seed4.results.sum.value, 1e-15);
  close("mean of the 3x3 seed", result.mean33, seed33.results.mean.value, 1e-15);
  close("sum of the 3x3 seed", result.sum33, seed33.results.sum.value, 0);
  const none = result.none33 ?? {};
  const want = seed33.results.none;
  if (JSON.stringify(none.shape) !== JSON.stringify(want.shape)) {
    problems.push(`"none" shape ${JSON.stringify(none.shape)}, expected ${JSON.stringify(want.shape)}`);
  }
  if (JSON.stringify(none.data) !== JSON.stringify(want.data)) {
    problems.push(`"none" data ${JSON.stringify(none.data)}, expected ${JSON.stringify(want.data)}`);
  }
  if (none.dtype !== "Float64Array") problems.push(`"none" data is a ${none.dtype}, expected Float64Array`);
  return problems;
}

function parseResult(stdout) {
  const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (!line) return null;
  return JSON.parse(line.slice("RESULT ".length));
}

/** Serves `dir` over http on 127.0.0.1; resolves { url, close }. */
function serveStatic(dir) {
  const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".css": "text/css" };
  const server = http.createServer((req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url, "http://x").pathname);
    let file = path.join(dir, urlPath === "/" ? "index.html" : urlPath);
    if (!file.startsWith(dir)) {
      res.writeHead(403).end();
      return;
    }
    fs.readFile(file, (err, body) => {
      if (err) {
        res.writeHead(404).end("not found");
        return;
      }
      res.writeHead(200, { "content-type": types[path.extname(file)] ?? "application/octet-stream" }).end(body);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      resolve({ url: `http://127.0.0.1:${port}/`, close: () => new Promise((r) => server.close(r)) });
    });
  });
}

/**
 * Runs every check; returns [{ name, ok, message }]. Checks that depend on an earlier
 * one that failed are reported as failed too (never silently dropped).
 * @param {{ chromium?: string | null, deno?: string, log?: (s: string) => void, keep?: boolean }} options
 */
export async function runPackChecks({ chromium = null, deno, log = console.log, keep = false } = {}) {
  const results = [];
  const record = (name, ok, message = "") => {
    results.push({ name: `pack: ${name}`, ok, message });
    log(`  ${ok ? "ok  " : "FAIL"} pack: ${name}${message ? ` (${ok ? message : message.split("\n")[0]})` : ""}`);
    return ok;
  };
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const denoBin = deno ?? path.join(repoRoot, "node_modules", ".bin", "deno");
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "mse-wasm-pack-"));
  const consumer = path.join(work, "consumer");
  try {
    // 1. npm pack
    const pack = await exec(npm, ["pack", "--json", "--pack-destination", work], {
      cwd: repoRoot,
      env: { npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false" },
    });
    let tarball = null;
    let packed = [];
    try {
      const info = JSON.parse(pack.stdout.slice(pack.stdout.indexOf("[")));
      tarball = path.join(work, info[0].filename);
      packed = info[0].files.map((f) => f.path);
    } catch {
      /* reported below */
    }
    if (pack.status !== 0 || !tarball || !fs.existsSync(tarball)) {
      record("npm pack", false, `npm pack failed (exit ${pack.status}):\n${tail(pack.stderr)}`);
      for (const n of ["install the tarball", ...Object.values(CHECKS)]) {
        record(n, false, "skipped: npm pack failed");
      }
      return results;
    }
    const mustHave = [
      "package.json",
      "dist/esm/index.js",
      "dist/esm/index.d.ts",
      "dist/cjs/index.js",
      "dist/cjs/package.json",
      "dist/simd.wasm",
      "dist/scalar.wasm",
    ];
    const missing = mustHave.filter((f) => !packed.includes(f));
    const stray = packed.filter((f) => /^(ts|crate|test|scripts|bench|demo|target|node_modules)\//.test(f));
    record(
      "npm pack contents",
      missing.length === 0 && stray.length === 0,
      missing.length || stray.length
        ? `missing: [${missing.join(", ")}], should not ship: [${stray.slice(0, 5).join(", ")}]`
        : `${packed.length} files, ${(fs.statSync(tarball).size / 1024).toFixed(1)} KiB packed`,
    );

    // 2. install into a fresh consumer project. The tarball has no dependencies, so this
    // needs no registry; fall back to unpacking it when npm insists on one.
    fs.mkdirSync(consumer, { recursive: true });
    fs.writeFileSync(
      path.join(consumer, "package.json"),
      JSON.stringify(
        { name: "mse-wasm-consumer", private: true, version: "0.0.0", dependencies: { "mse-wasm": `file:${path.relative(consumer, tarball)}` } },
        null,
        2,
      ),
    );
    const inst = await exec(npm, ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts"], {
      cwd: consumer,
      env: { npm_config_update_notifier: "false" },
    });
    const installedPkg = path.join(consumer, "node_modules", "mse-wasm", "package.json");
    let how = "npm install --offline";
    if (inst.status !== 0 || !fs.existsSync(installedPkg)) {
      const dest = path.join(consumer, "node_modules", "mse-wasm");
      fs.mkdirSync(dest, { recursive: true });
      const untar = await exec("tar", ["-xzf", tarball, "-C", dest, "--strip-components=1"]);
      how = `unpacked with tar (npm install exit ${inst.status}: ${tail(inst.stderr, 3)})`;
      if (untar.status !== 0) how += `; tar failed: ${tail(untar.stderr, 3)}`;
    }
    if (!record("install the tarball", fs.existsSync(installedPkg), how)) {
      for (const n of Object.values(CHECKS)) {
        record(n, false, "skipped: the tarball could not be installed");
      }
      return results;
    }
    for (const f of ["consumer.mjs", "consumer.cjs", "deno.ts", "types.mts", "types.cts"]) {
      fs.copyFileSync(path.join(here, f), path.join(consumer, f));
    }

    const nodeCheck = async (name, args, expect) => {
      const r = await exec(process.execPath, args, { cwd: consumer });
      const result = parseResult(r.stdout);
      if (r.status !== 0 || !result) {
        return record(name, false, `exit ${r.status}:\n${tail(r.stderr || r.stdout)}`);
      }
      const problems = checkResult(result, expect);
      if (expect.resolvedEnds && !String(result.resolved).replace(/\\/g, "/").endsWith(expect.resolvedEnds)) {
        problems.push(`"mse-wasm" resolved to ${result.resolved}, expected .../${expect.resolvedEnds}`);
      }
      if (expect.errorBeforeInit && !/init\(\)/.test(String(result.errorBeforeInit))) {
        problems.push(`calling mseLoss before init() gave ${JSON.stringify(result.errorBeforeInit)}; expected an error that says to await init()`);
      }
      return record(name, problems.length === 0, problems.join("; ") || `backend ${result.backend}, mean ${result.mean4}, sum ${result.sum33}`);
    };

    // 3-5. Node: ESM (both builds) and CommonJS
    await nodeCheck(CHECKS.esm, ["consumer.mjs"], { backend: "simd", resolvedEnds: "node_modules/mse-wasm/dist/esm/index.js" });
    await nodeCheck(CHECKS.esmScalar, ["consumer.mjs", "scalar"], { backend: "scalar" });
    await nodeCheck(CHECKS.cjs, ["consumer.cjs"], {
      backend: "simd",
      resolvedEnds: "node_modules/mse-wasm/dist/cjs/index.js",
      errorBeforeInit: true,
    });

    // 6. the published types, as TypeScript users with nodenext resolution see them
    fs.writeFileSync(
      path.join(consumer, "tsconfig.json"),
      JSON.stringify(
        {
          compilerOptions: {
            module: "nodenext",
            moduleResolution: "nodenext",
            target: "es2022",
            strict: true,
            noEmit: true,
            types: [],
            lib: ["es2022", "esnext.disposable", "dom"],
          },
          files: ["types.mts", "types.cts"],
        },
        null,
        2,
      ),
    );
    const tsc = await exec(process.execPath, [path.join(repoRoot, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], { cwd: consumer });
    record(CHECKS.types, tsc.status === 0, tsc.status === 0 ? "" : tail(tsc.stdout + tsc.stderr));

    // 7. Deno: npm:mse-wasm from this project's node_modules, offline
    fs.writeFileSync(path.join(consumer, "deno.json"), JSON.stringify({ nodeModulesDir: "manual" }, null, 2));
    const denoRun = await exec(denoBin, ["run", "--check", "--no-prompt", "--no-lock", "deno.ts"], {
      cwd: consumer,
      env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", DENO_DIR: path.join(work, "deno-dir") },
    });
    {
      const result = parseResult(denoRun.stdout);
      if (denoRun.status !== 0 || !result) {
        record(CHECKS.deno, false, `exit ${denoRun.status}:\n${tail(denoRun.stderr || denoRun.stdout)}`);
      } else {
        const problems = checkResult(result, { backend: "simd" });
        record(CHECKS.deno, problems.length === 0, problems.join("; ") || `resolved ${path.relative(consumer, fileURLToPath(result.resolved))}`);
      }
    }

    // 8. Vite bundle in Chromium
    await viteCheck({ consumer, chromium, record });
  } catch (e) {
    record("driver", false, `unexpected error: ${e && e.stack ? e.stack : e}`);
  } finally {
    if (keep) log(`  (kept ${work})`);
    else fs.rmSync(work, { recursive: true, force: true });
  }
  return results;
}

async function viteCheck({ consumer, chromium, record }) {
  const name = CHECKS.vite;
  if (!chromium) return record(name, false, "no Chromium found (install chromium or set CHROMIUM_PATH)");
  const app = path.join(consumer, "vite-app");
  fs.mkdirSync(app, { recursive: true });
  for (const f of ["index.html", "main.js"]) fs.copyFileSync(path.join(here, "vite", f), path.join(app, f));
  const vite = await import(pathToFileURL(path.join(repoRoot, "node_modules", "vite", "dist", "node", "index.js")).href);
  const outDir = path.join(app, "dist");
  try {
    await vite.build({ root: app, logLevel: "warn", configFile: false, build: { outDir, emptyOutDir: true } });
  } catch (e) {
    return record(name, false, `vite build failed: ${e && e.message}`);
  }
  const { chromium: pwChromium } = await import(pathToFileURL(path.join(repoRoot, "node_modules", "playwright", "index.mjs")).href);
  const server = await serveStatic(outDir);
  let browser;
  try {
    browser = await pwChromium.launch({ executablePath: chromium, args: CHROMIUM_ARGS, headless: true });
    const page = await browser.newPage();
    const pageErrors = [];
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    await page.goto(server.url);
    await page.waitForFunction(() => document.getElementById("result")?.textContent !== "pending", null, { timeout: 60_000 });
    const text = (await page.textContent("#result")) ?? "";
    if (!text.startsWith("RESULT ")) return record(name, false, `the page says: ${text.slice(0, 500)} ${pageErrors.join(" ")}`);
    const problems = checkResult(JSON.parse(text.slice("RESULT ".length)), { backend: "simd" });
    if (pageErrors.length) problems.push(`page errors: ${pageErrors.join("; ")}`);
    return record(name, problems.length === 0, problems.join("; ") || "vite build + headless Chromium");
  } catch (e) {
    return record(name, false, `${e && e.message}`);
  } finally {
    await browser?.close();
    await server.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const { findChromium } = await import(pathToFileURL(path.join(repoRoot, "scripts", "lib", "toolchain.mjs")).href);
  const results = await runPackChecks({ chromium: findChromium(), keep: process.argv.includes("--keep") });
  const failed = results.filter((r) => !r.ok);
  for (const f of failed) console.error(`FAIL ${f.name}\n${f.message}`);
  console.log(`${results.length - failed.length} passed, ${failed.length} failed`);
  process.exit(failed.length ? 1 : 0);
}
