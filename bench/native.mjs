// Optional bandwidth reference: the same float32 kernel in C, built with the system compiler at
// -O3 -march=native and run in a child process. Skipped (reported as n/a) when no compiler exists.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

// 16 independent float32 lanes (the compiler vectorises them, no -ffast-math needed), flushed to
// double every 128 elements: the work mse-wasm's kernel does, on native vectors.
export const nativeSource = String.raw`
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
__attribute__((noinline)) static double sumsq(const float *restrict a, const float *restrict b, size_t n) {
  double total = 0; size_t i = 0;
  for (; i + 128 <= n; i += 128) {
    float acc[16] = {0};
    for (size_t j = 0; j < 128; j += 16)
      for (int k = 0; k < 16; k++) { float d = a[i + j + k] - b[i + j + k]; acc[k] += d * d; }
    double t = 0; for (int k = 0; k < 16; k++) t += acc[k];
    total += t;
  }
  for (; i < n; i++) { double d = (double)a[i] - b[i]; total += d * d; }
  return total;
}
int main(int argc, char **argv) {
  size_t n = strtoull(argv[1], 0, 10); int passes = atoi(argv[2]); int inner = atoi(argv[3]);
  float *a = aligned_alloc(64, n * 4 + 64), *b = aligned_alloc(64, n * 4 + 64);
  unsigned s = 12345;
  for (size_t i = 0; i < n; i++) { s = s * 1664525u + 1013904223u; a[i] = (s >> 8) / 8388608.0f - 1; s = s * 1664525u + 1013904223u; b[i] = (s >> 8) / 8388608.0f - 1; }
  volatile double sink = sumsq(a, b, n);
  printf("[");
  for (int p = 0; p < passes; p++) { double t0 = now_ms(); for (int r = 0; r < inner; r++) sink += sumsq(a, b, n); printf(p ? ",%.6f" : "%.6f", (now_ms() - t0) / inner); }
  printf("]\n");
  return sink == 12345.678 ? 1 : 0;
}
`;

let binary;
/** Compiles once per run; returns the binary path or null. */
export function buildNative() {
  if (binary !== undefined) return binary;
  binary = null;
  for (const cc of [process.env.CC, "cc", "gcc", "clang"].filter(Boolean)) {
    try {
      const dir = mkdtempSync(path.join(os.tmpdir(), "mse-bench-"));
      const src = path.join(dir, "sumsq.c"), exe = path.join(dir, "sumsq");
      writeFileSync(src, nativeSource);
      execFileSync(cc, ["-O3", "-march=native", "-std=gnu11", "-o", exe, src], { stdio: "ignore" });
      process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
      binary = { exe, cc: execFileSync(cc, ["--version"]).toString().split("\n")[0].trim() };
      return binary;
    } catch { /* try the next compiler */ }
  }
  return binary;
}

/** A contender whose samples run in the child process: median pass time in ms. */
export function nativeContender(n) {
  const bin = buildNative();
  if (!bin) return null;
  const inner = Math.max(1, Math.round((1 << 21) / n));   // >= ~1 ms per timed pass
  return {
    sample() {
      const r = spawnSync(bin.exe, [String(n), "5", String(inner)], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`native reference failed: ${r.stderr}`);
      const t = JSON.parse(r.stdout).sort((x, y) => x - y);
      return t[t.length >> 1];
    },
  };
}
