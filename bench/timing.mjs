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
 * type feedback and the call inside stays monomorphic and inlinable).
 */
export function makeLoop() {
  // eslint-disable-next-line no-new-func
  return new Function("call", "reps", "now", `
    let sink = 0;
    const t0 = now();
    for (let i = 0; i < reps; i++) sink += call();
    const t1 = now();
    return [t1 - t0, sink];`);
}

const now = performance.now.bind(performance);
export let SINK = 0;

/** Runs `reps` calls; returns milliseconds per call. */
export function sample(contender, reps) {
  if (contender.sample) return contender.sample(reps);
  const [ms, sink] = contender.loop(contender.call, reps, now);
  SINK += sink;
  return ms / reps;
}

/**
 * Picks a repeat count so that one sample lasts about `targetMs` (5-20 ms in practice), after a
 * warm-up long enough for V8 to optimise the call path.
 */
export function calibrate(contender, { targetMs = 10, warmupMs = 60, maxReps = 1 << 22 } = {}) {
  if (contender.sample) { contender.sample(1); return 1; }
  // warm-up: at least 3 calls, then until warmupMs has passed
  let reps = 1, spent = 0, calls = 0;
  while (calls < 3 || spent < warmupMs) {
    const per = sample(contender, reps);
    spent += per * reps; calls += reps;
    if (per * reps < 5 && reps < maxReps) reps *= 2;
    if (per > 50 && calls >= 2) break;       // a slow call: warm enough
  }
  // measure: best of 3 samples of at least ~2 ms each
  let best = Infinity;
  for (let k = 0; k < 3; k++) best = Math.min(best, sample(contender, reps));
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
