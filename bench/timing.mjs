// Sampling machinery: calibrated repeat counts, interleaved rounds, robust statistics.
import v8 from "node:v8";
import vm from "node:vm";

/**
 * A full GC, for the optional `--gc` mode (a GC before every sample). Off by default: after a
 * forced full GC, freshly allocated large typed arrays (every gradient result) come from new
 * pages, and the next calls ran 2-4x slower than in steady use (64 Ki mseLossWithGrad: 330 µs
 * instead of 73 µs), which biased the timings toward contenders with few repeats per sample.
 */
export const collectGarbage = (() => {
  try { v8.setFlagsFromString("--expose-gc"); return vm.runInNewContext("gc"); } catch { return () => {}; }
})();

/**
 * Each contender gets its own copy of the timing loop (a fresh function, so V8 keeps separate
 * type feedback and the call inside stays monomorphic and inlinable). The operands are passed
 * as arguments, as user code passes them.
 */
export function makeLoop() {
  // eslint-disable-next-line no-new-func
  return new Function("call", "reps", "now", "a", "b", `
    let sink = 0;
    const t0 = now();
    for (let i = 0; i < reps; i++) sink += call(a, b);
    const t1 = now();
    return [t1 - t0, sink];`);
}

const now = performance.now.bind(performance);
const NO_ARGS = [undefined, undefined];
export let SINK = 0;

/** Runs `reps` calls; returns milliseconds per call. */
export function sample(contender, reps) {
  if (contender.sample) return contender.sample(reps);
  const [a, b] = contender.args ?? NO_ARGS;
  const [ms, sink] = contender.loop(contender.call, reps, now, a, b);
  SINK += sink;
  return ms / reps;
}

/**
 * Warm-up, then a repeat count so that one sample lasts about `targetMs`.
 *
 * The warm-up is time-boxed and made of many short invocations (each <= ~0.2 ms while the
 * call is that fast): V8 first runs a hot loop through on-stack replacement, and such code
 * can stay 1.5-3x slower than the regular optimised code that only comes after repeated
 * calls (seen on the naive loop: OSR code compiled before `sum / n` had ever run deoptimised
 * at the end of every call). A few long samples would time that transient.
 */
export function calibrate(contender, { targetMs = 10, warmupMs = 250, maxReps = 1 << 22 } = {}) {
  if (contender.sample) { contender.sample(1); return 1; }
  const start = now();
  let reps = 1, calls = 0, per = Infinity;
  while (calls < 3 || now() - start < warmupMs) {
    per = sample(contender, reps);
    calls += reps;
    if (per * reps < 0.2 && reps < maxReps) reps *= 2;
    if (per > warmupMs / 5 && calls >= 3) break;   // slow calls: a few are warm enough
  }
  // measure: best of 3 samples of at least ~2 ms each
  const probeReps = Math.max(1, Math.min(maxReps, Math.ceil(2 / per)));
  let best = Infinity;
  for (let k = 0; k < 3; k++) best = Math.min(best, sample(contender, probeReps));
  return Math.max(1, Math.min(maxReps, Math.round(targetMs / best)));
}

export function median(xs) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Median of per-round ratios base[r] / other[r] (> 1: `other` is faster). */
export function medianRatio(base, other) {
  const r = [];
  for (let i = 0; i < Math.min(base.length, other.length); i++) r.push(base[i] / other[i]);
  return median(r);
}
