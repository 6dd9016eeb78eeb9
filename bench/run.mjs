// mse-wasm benchmark (issue 5). `npm run bench` / `npm run bench -- --quick`.
//
// One process, every contender of a case interleaved round by round (rotating order), each
// sample calibrated to about 10 ms (5 ms in --quick); garbage is collected as in steady use
// (--gc forces a full GC before every sample instead, see timing.mjs). Writes
// bench/results/latest.{json,md} (full run) or latest-quick.{json,md} (--quick); runs narrowed
// with --sizes/--rounds/--no-tf/--no-native/--gc write partial.{json,md}.tmp (git-ignored).
// Flags: --quick, --rounds=N (all cases), --sizes=16,256,... (float32 sizes), --no-tf,
// --no-native, --gc, --strict (exit 1 if a target fails). Where the time goes: bench/probe.mjs.
import { existsSync, mkdirSync, writeFileSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

import { makeData } from "./data.mjs";
import { exactSumSq, bigIntSumSq } from "./exact.mjs";
import { makeLoop, calibrate, sample, median, collectGarbage } from "./timing.mjs";
import { buildContenders } from "./contenders.mjs";
import { nativeContender, buildNative } from "./native.mjs";
import { checkTargets, renderMarkdown, printCase, printChecks, sizeLabel } from "./report.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const option = (name) => args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const quick = flag("quick");
const forceGc = flag("gc");
const t0 = performance.now();

const KI = 1024, MI = 1024 * 1024;
const ALL_SIZES = [16, 256, 4 * KI, 64 * KI, MI, 16 * MI];
const F32_SIZES = (option("sizes")?.split(",").map(Number)) ?? ALL_SIZES;
for (const n of F32_SIZES) {
  if (!ALL_SIZES.includes(n)) throw new Error(`bench: --sizes takes ${ALL_SIZES.join(",")} (got ${n})`);
}

/** The case list: float32 sizes (uniform data), the 16 Mi accuracy case, float64 64 Ki and 16 Mi. */
function planCases() {
  const fixed = Number(option("rounds")) || 0;
  const rounds = (n) => fixed || (quick ? (n >= MI ? 7 : 13) : (n >= 16 * MI ? 7 : n >= MI ? 15 : 31));
  const cases = [];
  for (const n of F32_SIZES) {
    if (n > MI) continue;   // 16 Mi is planned below (quick: one mean-only sample)
    cases.push({ dtype: "float32", n, dataset: "uniform", rounds: rounds(n), groups: ["mean", "grad", "grad-out"] });
  }
  if (F32_SIZES.includes(16 * MI)) {
    if (quick) cases.push({ dtype: "float32", n: 16 * MI, dataset: "uniform", rounds: fixed || 1, groups: ["mean"] });
    else {
      cases.push({ dtype: "float32", n: 16 * MI, dataset: "uniform", rounds: rounds(16 * MI), groups: ["mean", "grad", "grad-out"] });
      cases.push({ dtype: "float32", n: 16 * MI, dataset: "similar", rounds: fixed || 3, groups: ["mean"] });
    }
  }
  if (F32_SIZES.includes(64 * KI)) cases.push({ dtype: "float64", n: 64 * KI, dataset: "uniform", rounds: rounds(64 * KI), groups: ["mean", "grad", "grad-out"] });
  if (!quick && F32_SIZES.includes(16 * MI)) cases.push({ dtype: "float64", n: 16 * MI, dataset: "uniform", rounds: rounds(16 * MI), groups: ["mean", "grad", "grad-out"] });
  return cases;
}

function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model?.trim() || "unknown CPU",
    cores: typeof os.availableParallelism === "function" ? os.availableParallelism() : cpus.length,
    node: process.version, v8: process.versions.v8, platform: `${os.platform()} ${os.arch()}`,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/** The exact reference is cross-checked against BigInt integer arithmetic before anything is timed. */
function checkReference() {
  for (const [dtype, dataset] of [["float32", "uniform"], ["float32", "wide"], ["float64", "wide"], ["float32", "similar"]]) {
    const { input, target } = makeData(dtype, 2048, dataset, 7);
    const fsum = exactSumSq(input, target).sum, big = bigIntSumSq(input, target);
    if (Math.abs(fsum - big) > Math.abs(big) * 2 ** -51) {
      throw new Error(`exact reference self-check failed (${dtype} ${dataset}): fsum ${fsum} vs BigInt ${big}`);
    }
  }
}

async function loadLibrary() {
  const entry = path.join(here, "..", "dist", "esm", "index.js");
  if (!existsSync(entry)) { console.warn("mse-wasm is not built (dist/esm/index.js missing): its contenders are skipped."); return { lib: null, info: { version: null, backend: null } }; }
  const lib = await import(pathToFileURL(entry).href);
  await lib.init();
  let version = null;
  try { version = JSON.parse(readFileSync(path.join(here, "..", "package.json"), "utf8")).version; } catch { /* unknown */ }
  return { lib, info: { version, backend: typeof lib.backend === "function" ? lib.backend() : "unknown" } };
}

async function loadTfContenders() {
  if (flag("no-tf")) return { tfx: null, info: { version: null, backends: [], wasmBuild: null } };
  const tfjs = await import("./tfjs.mjs");
  const { tf, info } = await tfjs.loadTf();
  if (!tf) return { tfx: null, info };
  // TF.js cpu valueAndGrad needs ~6 s per call at 16 Mi: measured up to 1 Mi only.
  return { tfx: { backends: info.backends, tfMean: tfjs.tfMean, tfValueAndGrad: tfjs.tfValueAndGrad, useBackend: tfjs.useBackend, numTensors: tfjs.tfNumTensors, gradMaxN: { cpu: MI } }, info };
}

const dataCache = new Map();
function dataFor(c) {
  const key = `${c.dtype}/${c.n}/${c.dataset}`;
  if (!dataCache.has(key)) {
    for (const k of dataCache.keys()) if (!k.endsWith(`/${c.n}/${c.dataset}`)) dataCache.delete(k); // keep memory bounded
    const data = makeData(c.dtype, c.n, c.dataset);
    dataCache.set(key, { ...data, ref: exactSumSq(data.input, data.target) });
  }
  return dataCache.get(key);
}

/** The baseline of each group: the naive loop its contenders' speed-ups are measured against. */
function baseContenders(contenders) {
  const byId = (id) => contenders.find((x) => x.id === id);
  return { mean: byId("naive"), grad: byId("naive-grad"), "grad-out": byId("naive-grad-out") };
}

async function runCase(c, lib, tfx) {
  const started = performance.now();
  let caseResultPairs = {};
  const { input, target, ref } = dataFor(c);
  const nativeFor = !flag("no-native") && c.dtype === "float32" && c.dataset === "uniform" && c.n >= MI ? nativeContender : null;
  const { contenders, teardown } = buildContenders({ lib, tfx, dtype: c.dtype, n: c.n, input, target, groups: c.groups, nativeFor });
  const tensorsBefore = tfx ? tfx.numTensors() : 0;
  const targetMs = quick ? 5 : 10;
  try {
    // one checked call each (also the first warm-up), then calibration
    for (const x of contenders) {
      if (x.backend) await tfx.useBackend(x.backend);
      x.loop = makeLoop();
      x.value = x.noValue ? null : x.call(...x.args);
      x.relErr = x.noValue ? null : Math.abs(x.value - ref.mean) / ref.mean;
      x.reps = calibrate(x, { targetMs, warmupMs: quick ? 80 : 250 });
      x.times = [];
    }
    // Paired sampling: every sample of a contender sits right next to a sample of its baseline
    // (the naive loop of its group), in alternating order, and its speed-up is the median of
    // those adjacent ratios. On a shared 2-core machine the speed of a scalar loop drifts by
    // 1.5-2x within seconds; pairs 10-20 ms apart see the same machine state.
    for (const x of contenders) x.ratios = [];
    const baseOf = baseContenders(contenders);
    const others = contenders.filter((x) => x !== baseOf[x.group]);
    const byId = Object.fromEntries(contenders.map((x) => [x.id, x]));
    const pairs = [
      ["withGradVsSeparateZc", "separate-zc", "withgrad-zc"],
      ["withGradVsSeparateJs", "separate-js", "withgrad-js"],
      ["withGradVsSeparateZcOut", "separate-zc-out", "withgrad-zc-out"],
    ]
      .filter(([, slow, fast]) => byId[slow] && byId[fast]).map(([name, slow, fast]) => ({ name, slow: byId[slow], fast: byId[fast], ratios: [] }));
    const timedPair = async (a, b, r) => {
      const [first, second] = r % 2 === 0 ? [a, b] : [b, a];
      const t = new Map();
      for (const x of [first, second]) {
        if (x.backend) await tfx.useBackend(x.backend);
        if (forceGc) collectGarbage();
        t.set(x, sample(x, x.reps));
      }
      return [t.get(a), t.get(b)];
    };
    for (let r = 0; r < c.rounds; r++) {
      for (let k = 0; k < others.length; k++) {
        const x = others[(k + r) % others.length];
        const base = baseOf[x.group];
        if (!base) { x.times.push(sample(x, x.reps)); continue; }
        const [tb, tx] = await timedPair(base, x, r);
        base.times.push(tb);
        x.times.push(tx);
        x.ratios.push(tb / tx);
      }
      for (const p of pairs) {
        const [ts, tf] = await timedPair(p.slow, p.fast, r);
        p.ratios.push(ts / tf);
      }
    }
    caseResultPairs = Object.fromEntries(pairs.map((p) => [p.name, median(p.ratios)]));
  } finally {
    teardown();
  }
  if (tfx && tfx.numTensors() !== tensorsBefore) console.warn(`warning: TF.js tensor count changed ${tensorsBefore} -> ${tfx.numTensors()}`);

  const bytes = 2 * c.n * (c.dtype === "float32" ? 4 : 8);
  const base = baseContenders(contenders);
  const result = {
    dtype: c.dtype, n: c.n, dataset: c.dataset, rounds: c.rounds,
    reference: { sum: ref.sum, mean: ref.mean },
    contenders: contenders.map((x) => {
      const medianMs = median(x.times);
      return {
        id: x.id, group: x.group, label: x.label, reps: x.reps, medianMs, gbps: bytes / (medianMs * 1e6),
        ratio: x === base[x.group] ? 1 : x.ratios.length ? median(x.ratios) : null,
        value: x.value, relErr: x.relErr, timesMs: x.times, ratios: x.ratios,
      };
    }),
  };
  if (Object.keys(caseResultPairs).length) result.pairs = caseResultPairs;
  result.durationS = Math.round((performance.now() - started) / 100) / 10;
  return result;
}

async function main() {
  const m = machine();
  console.log(`mse-wasm benchmark (${quick ? "quick" : "full"}) · ${m.cpu} (${m.cores} cores) · Node ${m.node} · V8 ${m.v8}`);
  if (m.loadAverageAtStart[0] > m.cores / 2) {
    console.warn(`warning: load average ${m.loadAverageAtStart[0]} on ${m.cores} cores: other work is running, timings will be noisy`);
  }
  checkReference();
  console.log("exact reference: fsum of exact products, cross-checked against BigInt: OK");
  const { lib, info: libInfo } = await loadLibrary();
  const { tfx, info: tfInfo } = await loadTfContenders();
  if (tfx) console.log(`TF.js ${tfInfo.version}: backends ${tfInfo.backends.join(", ")}; wasm build: ${tfInfo.wasmBuild}`);
  if (lib) console.log(`mse-wasm ${libInfo.version}: backend ${libInfo.backend}`);
  const native = flag("no-native") ? null : buildNative();
  if (native) console.log(`native reference: ${native.cc}`);

  const results = [];
  for (const c of planCases()) {
    const r = await runCase(c, lib, tfx);
    printCase(r);
    results.push(r);
  }
  const checks = checkTargets(results);
  printChecks(checks);

  const run = {
    mode: quick ? "quick" : "full", date: new Date().toISOString(), machine: m,
    library: libInfo, tfjs: tfInfo, nativeCompiler: native?.cc ?? null,
    roundsNote: [...new Set(results.map((r) => `${sizeLabel(r.n)}: ${r.rounds}`))].join(", ") + " rounds",
    sampleTargetMs: quick ? 5 : 10, gcBeforeEachSample: forceGc,
    reference: { method: "each (x - y)^2 split exactly into double terms (TwoSum + Dekker TwoProduct) and summed with an fsum-style exact accumulator (Shewchuk partials), rounded once; the mean is that sum / n. Cross-checked against BigInt integer arithmetic at start-up." },
    loadAverageAtEnd: os.loadavg().map((x) => Math.round(x * 100) / 100),
    results, checks, durationS: Math.round((performance.now() - t0) / 100) / 10,
  };
  const outDir = path.join(here, "results");
  mkdirSync(outDir, { recursive: true });
  // Narrowed runs (--sizes, --rounds, --no-tf, --no-native, --gc) are partial: written under
  // names git ignores (bench/results/*.tmp)
  const partial = option("sizes") !== undefined || option("rounds") !== undefined || flag("no-tf") || flag("no-native") || forceGc;
  const stem = partial ? "partial" : quick ? "latest-quick" : "latest";
  const ext = partial ? ".tmp" : "";
  writeFileSync(path.join(outDir, `${stem}.json${ext}`), JSON.stringify(run, (k, v) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v), 1) + "\n");
  writeFileSync(path.join(outDir, `${stem}.md${ext}`), renderMarkdown(run));
  console.log(`\nwrote bench/results/${stem}.json${ext} and bench/results/${stem}.md${ext} (${run.durationS} s)`);
  if (flag("strict") && checks.some((t) => t.pass === false)) process.exitCode = 1;
}

main().catch((err) => { console.error(err); process.exitCode = 1; });
