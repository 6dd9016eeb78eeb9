// Target table of issue 5, the PASS/FAIL check, and the Markdown/console rendering.

/** Ratios to the naive JS loop, float32 "mean" on uniform data: [JS typed arrays, WasmTensor]. */
export const MEAN_TARGETS = {
  16: [0.5, 0.8], 256: [3, 6], 4096: [5, 10], 65536: [7, 15], 1048576: [4, 13], 16777216: [2, 5],
};
export const OTHER_TARGETS = {
  withGradVsNaiveZc64Ki: 4,        // mseLossWithGrad (WasmTensor) vs naive JS loss+grad, 64 Ki
  withGradVsSeparateZc64Ki: 1.5,   // mseLossWithGrad vs mseLoss + mseLossBackward, 64 Ki zero-copy
  // (both checked twice: with a new gradient array per call, and with the gradient written
  // into a WasmTensor `out`, against the naive loop writing into a reused array)
  f64ZcVsNaive64Ki: 8,             // float64 WasmTensor vs naive JS over Float64Arrays, 64 Ki
  bandwidthVsNative16Mi: 0.85,     // 16 Mi zero-copy GB/s / native C GB/s
};
export const REL_ERR_BOUND = { float32: 1e-6, float64: 1e-13 };

export function sizeLabel(n) {
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n >> 20} Mi`;
  if (n >= 1 << 10 && n % (1 << 10) === 0) return `${n >> 10} Ki`;
  return String(n);
}
export function fmtTime(ms) {
  if (!Number.isFinite(ms)) return "–";
  if (ms < 1e-3) return `${(ms * 1e6).toPrecision(3)} ns`;
  if (ms < 1) return `${(ms * 1e3).toPrecision(3)} µs`;
  if (ms < 1000) return `${ms.toPrecision(3)} ms`;
  return `${(ms / 1000).toPrecision(3)} s`;
}
const fmtGbps = (g) => (Number.isFinite(g) ? (g >= 100 ? g.toFixed(0) : g >= 10 ? g.toFixed(1) : g.toFixed(2)) : "–");
const fmtRatio = (r) => (Number.isFinite(r) ? `${r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r >= 0.1 ? r.toFixed(2) : r.toPrecision(2)}×` : "–");
export function fmtErr(e) {
  if (e === null || e === undefined) return "–";
  if (Number.isNaN(e)) return "NaN";
  if (e === 0) return "0";
  return e.toExponential(1);
}

const find = (results, pred) => results.find(pred);

/** Evaluates every target of issue 5 against one run's results. pass: true | false | null (not measured). */
export function checkTargets(results) {
  const checks = [];
  const uniF32 = (n) => find(results, (c) => c.dtype === "float32" && c.n === n && c.dataset === "uniform");
  const contender = (c, id) => c?.contenders.find((x) => x.id === id);
  const ratioCheck = (name, measured, target) =>
    checks.push({ name, target: `>= ${target}×`, measured: Number.isFinite(measured) ? fmtRatio(measured) : "not measured", value: measured, pass: Number.isFinite(measured) ? measured >= target : null });

  for (const [nStr, [tJs, tZc]] of Object.entries(MEAN_TARGETS)) {
    const n = Number(nStr), c = uniF32(n);
    if (!c) continue;
    ratioCheck(`${sizeLabel(n)} float32 mean, JS typed arrays vs naive`, contender(c, "mse-js")?.ratio, tJs);
    ratioCheck(`${sizeLabel(n)} float32 mean, WasmTensor vs naive`, contender(c, "mse-zc")?.ratio, tZc);
  }
  const c64 = uniF32(65536);
  if (c64) {
    ratioCheck("64 Ki mseLossWithGrad (WasmTensor) vs naive loss+grad", contender(c64, "withgrad-zc")?.ratio, OTHER_TARGETS.withGradVsNaiveZc64Ki);
    ratioCheck("64 Ki mseLossWithGrad vs mseLoss + mseLossBackward (WasmTensor)", c64.pairs?.withGradVsSeparateZc, OTHER_TARGETS.withGradVsSeparateZc64Ki);
    ratioCheck("64 Ki mseLossWithGrad (WasmTensor, out) vs naive loss+grad into an array", contender(c64, "withgrad-zc-out")?.ratio, OTHER_TARGETS.withGradVsNaiveZc64Ki);
    ratioCheck("64 Ki mseLossWithGrad vs mseLoss + mseLossBackward (WasmTensor, out)", c64.pairs?.withGradVsSeparateZcOut, OTHER_TARGETS.withGradVsSeparateZc64Ki);
  }
  const f64 = find(results, (c) => c.dtype === "float64" && c.n === 65536);
  if (f64) ratioCheck("64 Ki float64 mean, WasmTensor vs naive", contender(f64, "mse-zc")?.ratio, OTHER_TARGETS.f64ZcVsNaive64Ki);
  const big = uniF32(16777216);
  if (big) {
    const zc = contender(big, "mse-zc"), nat = contender(big, "native-c");
    const frac = zc && nat ? zc.gbps / nat.gbps : NaN;
    checks.push({
      name: "16 Mi WasmTensor bandwidth vs native C", target: `>= ${OTHER_TARGETS.bandwidthVsNative16Mi * 100}%`,
      measured: Number.isFinite(frac) ? `${(frac * 100).toFixed(0)}% (${fmtGbps(zc.gbps)} / ${fmtGbps(nat.gbps)} GB/s)` : "not measured",
      value: frac, pass: Number.isFinite(frac) ? frac >= OTHER_TARGETS.bandwidthVsNative16Mi : null,
    });
  }
  // accuracy: every mse-wasm result in every case
  for (const dtype of ["float32", "float64"]) {
    let worst = -1, where = "", any = false;
    for (const c of results) {
      if (c.dtype !== dtype) continue;
      for (const x of c.contenders) {
        if (!/^(mse|withgrad|separate)-/.test(x.id) || x.relErr === null) continue;
        any = true;
        const e = Number.isNaN(x.relErr) ? Infinity : x.relErr;
        if (e > worst) { worst = e; where = `${sizeLabel(c.n)} ${c.dataset}, ${x.label}`; }
      }
    }
    checks.push({
      name: `${dtype} rel. error of every mse-wasm result`, target: `<= ${REL_ERR_BOUND[dtype].toExponential(0)}`,
      measured: any ? `${fmtErr(worst)} (worst: ${where})` : "not measured", value: any ? worst : null,
      pass: any ? worst <= REL_ERR_BOUND[dtype] : null,
    });
  }
  return checks;
}

function contenderRows(results, group) {
  const rows = [];
  for (const c of results) {
    for (const x of c.contenders) {
      if (x.group !== group) continue;
      rows.push(`| ${sizeLabel(c.n)} | ${c.dtype}${c.dataset === "uniform" ? "" : `, ${c.dataset}`} | ${x.label} | ${fmtTime(x.medianMs)} | ${fmtGbps(x.gbps)} | ${fmtRatio(x.ratio)} | ${fmtErr(x.relErr)} |`);
    }
  }
  return rows;
}

export function renderMarkdown(run) {
  const m = run.machine;
  const L = [];
  L.push(`<!-- generated by \`npm run bench${run.mode === "quick" ? " -- --quick" : ""}\` (bench/run.mjs); do not edit by hand -->`);
  L.push(`**${run.date.slice(0, 10)}** · ${m.cpu} (${m.cores} cores) · Node ${m.node} · V8 ${m.v8} · ${m.platform} · mse-wasm ${run.library.version ?? "–"} (${run.library.backend ?? "not built"}) · TF.js ${run.tfjs.version ?? "–"} (wasm: ${run.tfjs.wasmBuild ?? "n/a"}) · ${run.mode} run, ${run.roundsNote} · load average ${m.loadAverageAtStart?.[0] ?? "?"} at start`);
  L.push("");
  L.push("Median time per call over interleaved rounds; GB/s = bytes of both operands read / median time; " +
    "× naive = median of per-round ratios to the naive JS loop (for loss+grad: to the naive loss+grad loop); " +
    "rel. error of the returned mean against the exact mean (exact sum of the squared differences of the given values). " +
    "TF.js times include creating the two tensors, `dataSync` and disposal. mse-wasm computes float32 data in float32 " +
    "arithmetic (as PyTorch does) with compensated float64 accumulation; the naive loop computes in float64. " +
    "The native C row is a bandwidth reference run in a child process (same kernel, `-O3 -march=native`).");
  L.push("");
  // One table per group of contenders: a title, an optional note, the rows.
  const table = (title, rows, { note = null, errorLabel = "rel. error", first = false } = {}) => {
    if (!rows.length) return;
    if (!first) L.push("");
    L.push(`#### ${title}`);
    L.push("");
    if (note) L.push(note, "");
    L.push(`| size | dtype | contender | median time | GB/s | × naive | ${errorLabel} |`);
    L.push("|---:|---|---|---:|---:|---:|---:|");
    L.push(...rows);
  };
  table("Loss, `reduction: \"mean\"` (uniform data in [-1, 1))", contenderRows(run.results.filter((c) => c.dataset === "uniform"), "mean"), { first: true });
  table("Accuracy case: values of similar magnitude (input 0.1 × (1 ± 1%), target 0)", contenderRows(run.results.filter((c) => c.dataset !== "uniform"), "mean"));
  table("Loss + gradient w.r.t. input (`\"mean\"`)", contenderRows(run.results, "grad"), { errorLabel: "rel. error (loss)" });
  table("Loss + gradient, the gradient written into the caller's array (`out`, reused every call)", contenderRows(run.results, "grad-out"), {
    note: "× naive here is against the naive loop writing into a reused array.",
    errorLabel: "rel. error (loss)",
  });
  L.push("");
  L.push("#### Targets (issue 5)");
  L.push("");
  L.push("| target | required | measured | |");
  L.push("|---|---:|---:|---|");
  for (const t of run.checks) L.push(`| ${t.name} | ${t.target} | ${t.measured} | ${t.pass === null ? "n/a" : t.pass ? "PASS" : "**FAIL**"} |`);
  L.push("");
  L.push(`Exact reference: ${run.reference.method}`);
  L.push("");
  return L.join("\n");
}

/** Console table for one finished case. */
export function printCase(c) {
  const head = `${sizeLabel(c.n)} ${c.dtype} ${c.dataset} (${c.rounds} rounds, ${c.durationS} s)`;
  console.log(`\n── ${head} ${"─".repeat(Math.max(0, 70 - head.length))}`);
  for (const x of c.contenders) {
    console.log(`  ${x.label.padEnd(46)} ${fmtTime(x.medianMs).padStart(9)} ${fmtGbps(x.gbps).padStart(6)} GB/s ${fmtRatio(x.ratio).padStart(8)}  err ${fmtErr(x.relErr).padStart(7)}  ×${x.reps}`);
  }
  if (c.pairs) for (const [k, v] of Object.entries(c.pairs)) console.log(`  ${k}: ${fmtRatio(v)}`);
}

export function printChecks(checks) {
  console.log("\nTarget check (issue 5):");
  for (const t of checks) {
    const verdict = t.pass === null ? " n/a" : t.pass ? "PASS" : "FAIL";
    console.log(`  ${verdict}  ${t.name.padEnd(62)} ${t.target.padStart(8)}  measured ${t.measured}`);
  }
}
