// Browser test of the web demo (`npm run demo`): builds and serves the page with
// demo/serve.mjs, opens it in headless Chromium through Playwright, lets it train, and
// checks what a user would see. Saves a screenshot to test-results/demo.png.
//
// Called by scripts/test.mjs (runDemoChecks, the same shape as test/pack/run.mjs's
// runPackChecks); also runnable alone (needs a current dist/: `npm run build`):
//   node test/demo/run.mjs
// which prints one line per check, ends with `N passed, N failed` and exits 1 on a failure.

import { execFile } from "node:child_process";
import { mkdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium as playwrightChromium } from "playwright";
import { startDemoServer } from "../../demo/serve.mjs";
import { CHROMIUM_ARGS, findChromium } from "../../scripts/lib/toolchain.mjs";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SCREENSHOT = path.join(repoRoot, "test-results", "demo.png");

const STEPS = 600;
const SCALAR_STEPS = 200;
const TIMEOUT_MS = 240_000;
// Must match demo/main.ts: the points are the cubic TRUTH plus Gaussian noise of sd NOISE.
const TRUTH = [0.2, 0.4, -0.9, 1.1];
const NOISE = 0.12;

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

const polynomial = (coefficients, x) => coefficients.reduceRight((acc, c) => acc * x + c, 0);
/** mean((poly(x) - y)^2), computed here in plain JS, independently of the library. */
function plainMse(coefficients, points) {
  let sum = 0;
  for (let i = 0; i < points.x.length; i++) {
    const prediction = Math.fround(polynomial(coefficients, points.x[i]));
    const d = prediction - Math.fround(points.y[i]);
    sum += d * d;
  }
  return sum / points.x.length;
}

/** Least-squares polynomial coefficients (lowest power first) by the normal equations. */
function leastSquares(points, degree) {
  const n = degree + 1;
  const a = Array.from({ length: n }, () => new Array(n + 1).fill(0));
  points.x.forEach((x, i) => {
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) a[r][c] += x ** (r + c);
      a[r][n] += x ** r * points.y[i];
    }
  });
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r][col]) > Math.abs(a[pivot][col])) pivot = r;
    [a[col], a[pivot]] = [a[pivot], a[col]];
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = a[r][col] / a[col][col];
      for (let c = col; c <= n; c++) a[r][c] -= f * a[col][c];
    }
  }
  return a.map((row, r) => row[n] / row[r]);
}

async function waitForTraining(page, timeout = 60_000) {
  await page.waitForFunction(() => window.__demo && window.__demo.done === true, null, { timeout });
  return page.evaluate(() => JSON.parse(JSON.stringify(window.__demo)));
}

/** Count pixels of each plot colour on the two canvases (exact RGB, any alpha > 200). */
function countPlotPixels(page) {
  return page.evaluate(() => {
    const count = (id, colors) => {
      const canvas = document.getElementById(id);
      const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
      const out = Object.fromEntries(Object.keys(colors).map((k) => [k, 0]));
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] < 200) continue;
        for (const [name, [r, g, b]] of Object.entries(colors)) {
          if (Math.abs(data[i] - r) <= 6 && Math.abs(data[i + 1] - g) <= 6 && Math.abs(data[i + 2] - b) <= 6) out[name]++;
        }
      }
      return out;
    };
    return {
      fit: count("fit-canvas", { points: [0x25, 0x63, 0xeb], fit: [0xea, 0x58, 0x0c], truth: [0x9a, 0xa3, 0xb2] }),
      loss: count("loss-canvas", { loss: [0x7c, 0x3a, 0xed] }),
    };
  });
}

// --- the checks ----------------------------------------------------------------------

/**
 * Runs the demo checks in order (each may use what the earlier ones set up).
 * `chromium`: the browser executable (default: scripts/lib/toolchain.mjs's findChromium(),
 * else Playwright's own build). Resolves to [{ name, ok, message }], never rejects.
 */
export async function runDemoChecks({ chromium = findChromium(), log = console.log, screenshot = SCREENSHOT } = {}) {
  const results = [];
  let stopped = false;
  const check = async (name, body) => {
    if (stopped) return;
    const t0 = Date.now();
    try {
      await body();
      if (stopped) return;
      results.push({ name: `demo: ${name}`, ok: true, message: "" });
      log(`  ok   demo: ${name} (${Date.now() - t0} ms)`);
    } catch (error) {
      if (stopped) return;
      const message = String(error?.stack ?? error);
      results.push({ name: `demo: ${name}`, ok: false, message });
      log(`  FAIL demo: ${name}\n       ${message.split("\n").join("\n       ")}`);
    }
  };
  const note = (text) => log(`       ${text}`);
  const executablePath = chromium ?? undefined;
  log(`  demo: Chromium ${executablePath ?? "(Playwright's bundled build)"}`);

  let server;
  let browser;
  let page;
  let simdRun;
  const problems = []; // console errors, page errors, CSP violations

  let watchdog;
  const timedOut = new Promise((resolve) => {
    watchdog = setTimeout(resolve, TIMEOUT_MS);
  });
  // tsc is slow on a small machine: type-check in the background while the browser runs.
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  const typeCheck = new Promise((resolve) => {
    execFile(process.execPath, [tsc, "-p", path.join(repoRoot, "demo", "tsconfig.json")], { encoding: "utf8" }, (error, stdout, stderr) =>
      resolve(error ? `tsc -p demo/tsconfig.json failed:\n${stdout}${stderr}` : null),
    );
  });
  const all = (async () => {
    await check("npm run demo's server builds the page and serves it on 127.0.0.1 with a strict CSP", async () => {
      server = await startDemoServer({ port: 0, quiet: true });
      assert(new URL(server.url).hostname === "127.0.0.1", `server URL ${server.url} is not on 127.0.0.1`);
      const response = await fetch(server.url);
      assert(response.status === 200, `GET / returned ${response.status}`);
      const html = await response.text();
      assert(html.includes("mseLossWithGrad"), "the page does not mention mseLossWithGrad");
      const csp = response.headers.get("content-security-policy") ?? "";
      assert(csp.includes("script-src 'self' 'wasm-unsafe-eval'"), `unexpected CSP: ${csp}`);
      assert(!csp.includes("'unsafe-eval'"), `CSP allows 'unsafe-eval': ${csp}`);
      const outside = await fetch(new URL("/..%2fpackage.json", server.url));
      assert(outside.status === 403 || outside.status === 404, `a path outside the bundle returned ${outside.status}`);
      await outside.text();
    });

    await check("the page loads in headless Chromium and trains a cubic (SIMD build): the loss falls", async () => {
      assert(server, "no server");
      browser = await playwrightChromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
      page = await browser.newPage({ viewport: { width: 760, height: 860 } });
      page.on("console", (message) => {
        if (message.type() === "error" || message.type() === "warning") problems.push(`console.${message.type()}: ${message.text()}`);
      });
      page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
      await page.addInitScript(() => {
        document.addEventListener("securitypolicyviolation", (event) => {
          console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`);
        });
      });
      await page.goto(`${server.url}?degree=3&steps=${STEPS}&seed=7`);
      simdRun = await waitForTraining(page);
      assert(simdRun.error === null, `the page reported an error: ${simdRun.error}`);
      assert(simdRun.backend === "simd", `backend is ${JSON.stringify(simdRun.backend)}, expected "simd" in Chromium`);
      const { losses } = simdRun;
      assert(losses.length === STEPS, `recorded ${losses.length} losses, expected ${STEPS}`);
      assert(losses.every(Number.isFinite), "a loss is not finite");
      const first = losses[0];
      const last = losses[losses.length - 1];
      assert(last < first / 10, `loss fell only from ${first} to ${last}`);
      // A converged cubic fit leaves about the noise variance (NOISE^2 = 0.0144).
      assert(last < 2 * NOISE ** 2 && last > NOISE ** 2 / 4, `final loss ${last} is not near the noise variance ${NOISE ** 2}`);
      note(`loss ${first.toPrecision(4)} -> ${last.toPrecision(4)} in ${STEPS} steps; fit ${simdRun.coefficients.map((c) => c.toFixed(3)).join(", ")}`);
    });

    await check("the fit matches an independent JS computation and recovers the cubic", async () => {
      assert(simdRun, "no training run");
      const { coefficients, points, losses } = simdRun;
      assert(coefficients.length === 4, `degree 3 gave ${coefficients.length} coefficients`);
      const recomputed = plainMse(coefficients, points);
      const last = losses[losses.length - 1];
      // losses[k] is measured before update k; after convergence one update barely moves it.
      assert(Math.abs(recomputed - last) / last < 0.01, `page loss ${last} vs recomputed ${recomputed}`);
      // Gradient descent should reach the least-squares cubic (normal equations, solved here).
      const best = leastSquares(points, 3);
      const bestLoss = plainMse(best, points);
      note(`least squares: ${best.map((c) => c.toFixed(3)).join(", ")} (loss ${bestLoss.toPrecision(4)})`);
      assert(recomputed <= bestLoss * 1.01, `fit loss ${recomputed} is above the least-squares loss ${bestLoss} by more than 1 %`);
      coefficients.forEach((c, k) => {
        assert(Math.abs(c - best[k]) < 0.05, `coefficient ${k} is ${c}, least squares gives ${best[k]}`);
        assert(Math.abs(c - TRUTH[k]) < 0.3, `coefficient ${k} is ${c}, the curve the points came from has ${TRUTH[k]}`);
      });
      const shown = await page.textContent("#loss");
      assert(Number(shown) > 0 && Math.abs(Number(shown) - last) / last < 1e-3, `page shows loss ${shown}, last is ${last}`);
      const badge = await page.textContent("#backend");
      assert(badge === "simd", `backend badge shows ${badge}`);
    });

    await check("the plot shows the points, the fitted curve, the true curve and the loss curve", async () => {
      assert(page, "no page");
      const pixels = await countPlotPixels(page);
      note(`plot pixels: ${JSON.stringify(pixels)}`);
      assert(pixels.fit.points > 48 * 10, `too few point pixels: ${pixels.fit.points}`);
      assert(pixels.fit.fit > 400, `too few fitted-curve pixels: ${pixels.fit.fit}`);
      assert(pixels.fit.truth > 100, `too few true-curve pixels: ${pixels.fit.truth}`);
      assert(pixels.loss.loss > 300, `too few loss-curve pixels: ${pixels.loss.loss}`);
    });

    await check("a screenshot is saved to test-results/demo.png", async () => {
      assert(page, "no page");
      await mkdir(path.dirname(screenshot), { recursive: true });
      await page.screenshot({ path: screenshot, fullPage: true });
      const png = await readFile(screenshot);
      assert(png.length > 10_000 && png.subarray(1, 4).toString() === "PNG", "the screenshot is not a PNG of a drawn page");
      note(`${path.relative(repoRoot, screenshot)} (${png.length} bytes)`);
    });

    await check("choosing degree 1 in the page refits a line, which cannot fit the cubic as well", async () => {
      assert(page && simdRun, "no page");
      await page.selectOption("#degree", "1");
      await page.waitForFunction(() => window.__demo.degree === 1);
      const line = await waitForTraining(page);
      assert(line.error === null, `the page reported an error: ${line.error}`);
      assert(line.coefficients.length === 2, `degree 1 gave ${line.coefficients.length} coefficients`);
      const first = line.losses[0];
      const last = line.losses[line.losses.length - 1];
      assert(line.losses.length === STEPS && last < first / 2, `line fit: loss ${first} -> ${last} over ${line.losses.length} steps`);
      const cubicLoss = simdRun.losses[simdRun.losses.length - 1];
      assert(last > 1.5 * cubicLoss, `a line (${last}) fit the cubic data nearly as well as a cubic (${cubicLoss})`);
    });

    await check("backend=scalar runs the non-SIMD build with a bit-identical loss curve", async () => {
      assert(browser && simdRun, "no browser");
      const scalarPage = await browser.newPage({ viewport: { width: 760, height: 860 } });
      scalarPage.on("pageerror", (error) => problems.push(`page error (scalar): ${error.message}`));
      try {
        await scalarPage.goto(`${server.url}?degree=3&steps=${SCALAR_STEPS}&seed=7&backend=scalar`);
        const scalarRun = await waitForTraining(scalarPage);
        assert(scalarRun.error === null, `the page reported an error: ${scalarRun.error}`);
        assert(scalarRun.backend === "scalar", `backend is ${JSON.stringify(scalarRun.backend)}, expected "scalar"`);
        assert(scalarRun.losses.length === SCALAR_STEPS, `recorded ${scalarRun.losses.length} losses`);
        const differing = scalarRun.losses.findIndex((loss, i) => !Object.is(loss, simdRun.losses[i]));
        assert(differing === -1, `step ${differing}: scalar loss ${scalarRun.losses[differing]} vs SIMD ${simdRun.losses[differing]}`);
        assert(await scalarPage.textContent("#backend") === "scalar", "badge does not show scalar");
      } finally {
        await scalarPage.close();
      }
    });

    await check("demo/main.ts type-checks (strict) against the built library's .d.ts", async () => {
      const failure = await typeCheck;
      assert(failure === null, failure);
    });

    await check("no console errors, page errors or CSP violations", async () => {
      assert(problems.length === 0, problems.join("\n"));
    });
  })();
  try {
    const finished = await Promise.race([all.then(() => true), timedOut.then(() => false)]);
    if (!finished) {
      stopped = true;
      results.push({ name: "demo: finishes in time", ok: false, message: `gave up after ${TIMEOUT_MS / 1000} s` });
      log(`  FAIL demo: finishes in time (gave up after ${TIMEOUT_MS / 1000} s)`);
    }
  } finally {
    clearTimeout(watchdog);
    await browser?.close().catch(() => {});
    await server?.close();
  }
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const results = await runDemoChecks();
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed > 0 || results.length === 0 ? 1 : 0;
}
