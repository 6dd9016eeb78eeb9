// `npm start`: a short tour of mse-wasm on built-in example data, printed the way
// PyTorch prints the same computations, plus a wasm-vs-plain-JS timing line.
// Imports the built library (dist/esm), so it shows what a user of the package gets.
//   node scripts/demo.mjs [--scalar]      (npm start builds first via scripts/ensure.mjs)
// Exits 1 if any section fails.

import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { isMain } from "./lib/toolchain.mjs";

// ---------------------------------------------------------------------------
// PyTorch's tensor printing (torch/_tensor_str.py, default print options:
// precision 4, linewidth 80, threshold 1000, edgeitems 3), reproduced closely
// enough that the same numbers print the same text.

const PRECISION = 4;
const LINEWIDTH = 80;
const THRESHOLD = 1000;
const EDGEITEMS = 3;

/** The exact value of a finite double as `mantissa * 2 ** exponent` (BigInt mantissa). */
function exactParts(value) {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(value));
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = hi >>> 20;
  let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exponent;
  if (biased === 0) {
    exponent = -1074;
  } else {
    mantissa |= 1n << 52n;
    exponent = biased - 1075;
  }
  return { mantissa, exponent };
}

/** `round(num / den)` with ties to even, as Python's float formatting rounds. */
function divRoundHalfEven(num, den) {
  const q = num / den;
  const twice = 2n * (num % den);
  if (twice > den || (twice === den && (q & 1n) === 1n)) return q + 1n;
  return q;
}

function nonFinite(value) {
  if (Number.isNaN(value)) return "nan";
  return value > 0 ? "inf" : "-inf";
}

/** Python's `"{:.{p}f}".format(value)`. */
function formatFixed(value, p) {
  if (!Number.isFinite(value)) return nonFinite(value);
  const sign = value < 0 || Object.is(value, -0) ? "-" : "";
  const { mantissa, exponent } = exactParts(value);
  const scale = 10n ** BigInt(p);
  const digits =
    exponent >= 0
      ? (mantissa << BigInt(exponent)) * scale
      : divRoundHalfEven(mantissa * scale, 1n << BigInt(-exponent));
  if (p === 0) return sign + digits.toString();
  const s = digits.toString().padStart(p + 1, "0");
  return `${sign}${s.slice(0, -p)}.${s.slice(-p)}`;
}

/** Python's `"{:.{p}e}".format(value)`. */
function formatExp(value, p) {
  if (!Number.isFinite(value)) return nonFinite(value);
  const sign = value < 0 || Object.is(value, -0) ? "-" : "";
  if (value === 0) return `${sign}${(0).toFixed(p)}e+00`;
  const { mantissa, exponent } = exactParts(value);
  let e10 = Math.floor(Math.log10(Math.abs(value)));
  for (;;) {
    // Round |value| * 10^(p - e10) to an integer of exactly p + 1 digits.
    let num = mantissa;
    let den = 1n;
    if (exponent >= 0) num <<= BigInt(exponent);
    else den <<= BigInt(-exponent);
    const shift = p - e10;
    if (shift >= 0) num *= 10n ** BigInt(shift);
    else den *= 10n ** BigInt(-shift);
    const q = divRoundHalfEven(num, den);
    if (q >= 10n ** BigInt(p + 1)) { e10 += 1; continue; }
    if (q < 10n ** BigInt(p)) { e10 -= 1; continue; }
    const d = q.toString();
    const frac = p > 0 ? `.${d.slice(1)}` : "";
    const expSign = e10 < 0 ? "-" : "+";
    return `${sign}${d[0]}${frac}e${expSign}${String(Math.abs(e10)).padStart(2, "0")}`;
  }
}

/** torch's `_Formatter` for a floating tensor, built from the (summarised) values. */
function makeFormatter(values) {
  let intMode = true;
  let sciMode = false;
  let maxWidth = 1;
  const finite = values.filter((v) => Number.isFinite(v) && v !== 0);
  if (finite.length > 0) {
    const abs = finite.map(Math.abs);
    const min = Math.min(...abs);
    const max = Math.max(...abs);
    intMode = finite.every((v) => v === Math.ceil(v));
    if (intMode) {
      if (max / min > 1000 || max > 1e8) {
        sciMode = true;
        for (const v of finite) maxWidth = Math.max(maxWidth, formatExp(v, PRECISION).length);
      } else {
        for (const v of finite) maxWidth = Math.max(maxWidth, formatFixed(v, 0).length + 1);
      }
    } else if (max / min > 1000 || max > 1e8 || min < 1e-4) {
      sciMode = true;
      for (const v of finite) maxWidth = Math.max(maxWidth, formatExp(v, PRECISION).length);
    } else {
      for (const v of finite) maxWidth = Math.max(maxWidth, formatFixed(v, PRECISION).length);
    }
  }
  return {
    width: maxWidth,
    format(v) {
      let s;
      if (sciMode) s = formatExp(v, PRECISION);
      else if (intMode) s = formatFixed(v, 0) + (Number.isFinite(v) ? "." : "");
      else s = formatFixed(v, PRECISION);
      return s.padStart(maxWidth, " ");
    },
  };
}

/**
 * `repr(torch.tensor(...))` for a float tensor given as `{ data, shape }`
 * (or a JS number, printed as a rank-0 tensor of `dtype`).
 */
export function torchRepr(tensorOrNumber, dtype) {
  const isNumber = typeof tensorOrNumber === "number";
  const shape = isNumber ? [] : [...tensorOrNumber.shape];
  const type = dtype ?? (isNumber ? "float64" : tensorOrNumber.data instanceof Float32Array ? "float32" : "float64");
  const raw = isNumber ? [tensorOrNumber] : Array.from(tensorOrNumber.data);
  // A float32 tensor holds float32 values; Python's formatting sees them widened exactly.
  const flat = type === "float32" ? raw.map(Math.fround) : raw;
  const numel = flat.length;
  const suffixes = [];
  let body;
  if (numel === 0) {
    body = "[]";
    if (!(shape.length === 1 && shape[0] === 0)) suffixes.push(`size=(${shape.join(", ")}${shape.length === 1 ? "," : ""})`);
  } else {
    const summarize = numel > THRESHOLD;
    const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
    const indices = (size) =>
      summarize && size > 2 * EDGEITEMS
        ? [...Array(EDGEITEMS).keys(), null, ...Array.from({ length: EDGEITEMS }, (_, i) => size - EDGEITEMS + i)]
        : [...Array(size).keys()];
    const collect = (dim, offset, out) => {
      if (dim === shape.length) { out.push(flat[offset]); return out; }
      for (const i of indices(shape[dim])) if (i !== null) collect(dim + 1, offset + i * strides[dim], out);
      return out;
    };
    const formatter = makeFormatter(collect(0, 0, []));
    const indent = "tensor(".length;
    const render = (dim, offset, ind) => {
      const rest = shape.length - dim;
      if (rest === 0) return formatter.format(flat[offset]);
      if (rest === 1) {
        const perLine = Math.max(1, Math.floor((LINEWIDTH - ind) / (formatter.width + 2)));
        const items = indices(shape[dim]).map((i) => (i === null ? " ..." : formatter.format(flat[offset + i * strides[dim]])));
        const lines = [];
        for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(", "));
        return `[${lines.join(",\n" + " ".repeat(ind + 1))}]`;
      }
      const slices = indices(shape[dim]).map((i) => (i === null ? "..." : render(dim + 1, offset + i * strides[dim], ind + 1)));
      return `[${slices.join("," + "\n".repeat(rest - 1) + " ".repeat(ind + 1))}]`;
    };
    body = render(0, 0, indent);
  }
  if (type === "float64") suffixes.push("dtype=torch.float64");
  // torch's _add_suffixes: a suffix that would pass the line width goes on a new line.
  let text = `tensor(${body}`;
  let lastLineLength = text.length - text.lastIndexOf("\n") + 1;
  for (const suffix of suffixes) {
    if (lastLineLength + suffix.length + 2 > LINEWIDTH) {
      text += `,\n${" ".repeat("tensor(".length)}${suffix}`;
      lastLineLength = "tensor(".length + suffix.length;
    } else {
      text += `, ${suffix}`;
      lastLineLength += suffix.length + 2;
    }
  }
  return `${text})`;
}

// ---------------------------------------------------------------------------
// The tour.

async function main() {
  const lib = await import("../dist/esm/index.js");
  const { init, backend, mseLoss } = lib;

  const out = (s = "") => process.stdout.write(s + "\n");
  const failures = [];

  // Warnings: the library warns once per process through process.emitWarning (Node)
  // or console.warn; show them in line, where PyTorch's REPL would show its UserWarning.
  const pendingWarnings = [];
  process.removeAllListeners("warning");
  // Node names them "Warning"; PyTorch prints the same text as a UserWarning.
  process.on("warning", (w) => pendingWarnings.push(`${w.name === "Warning" ? "UserWarning" : w.name}: ${w.message}`));
  const consoleWarn = console.warn;
  console.warn = (...args) => pendingWarnings.push(args.map(String).join(" "));
  const flushWarnings = async () => {
    // process.emitWarning delivers on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
    for (const w of pendingWarnings.splice(0)) out(w);
  };

  /** Run `fn` (returning the value to show), print `> code` and its PyTorch-style result. */
  async function show(code, fn) {
    out(`> ${code}`);
    try {
      const value = fn();
      await flushWarnings();
      if (value !== undefined) out(typeof value === "string" ? value : torchRepr(value, "float32"));
    } catch (error) {
      await flushWarnings();
      out(`${error?.name ?? "Error"}: ${error?.message ?? error}`);
      return error;
    }
    return undefined;
  }

  /** A section whose failure is reported and makes `npm start` exit non-zero. */
  async function section(title, body) {
    out();
    out(`# ${title}`);
    try {
      await body();
    } catch (error) {
      failures.push(title);
      out(`!! ${title} failed: ${error?.stack ?? error}`);
    }
  }

  const f32 = (rows) => ({ data: Float32Array.from(rows.flat()), shape: [rows.length, rows[0].length] });
  const need = (name) => {
    if (typeof lib[name] !== "function") throw new Error(`this build does not export ${name}()`);
    return lib[name];
  };

  const started = performance.now();
  // `node scripts/demo.mjs --scalar` runs the tour on the non-SIMD build.
  await init(process.argv.includes("--scalar") ? { simd: false } : undefined);
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
  out(`mse-wasm ${pkg.version}: PyTorch's F.mse_loss / nn.MSELoss in WebAssembly`);
  out(`backend: ${backend()} (${backend() === "simd" ? "WebAssembly SIMD128 build" : "scalar build, no SIMD128"}), Node ${process.versions.node}`);
  out("Results print as PyTorch prints the same call on float32 tensors.");

  // The worked examples (the seed): predictions y_pred against targets y_true.
  const input1 = Float32Array.from([1.5, 2.1, 2.9, 4.2]);
  const target1 = Float32Array.from([1, 2, 3, 4]);
  const input2 = f32([[1, 2, 3], [2, 1, 3], [3, 1, 2]]);
  const target2 = f32([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);

  await section("the worked examples, each reduction", async () => {
    out(`y_pred = ${torchRepr({ data: input1, shape: [4] })}`);
    out(`y_true = ${torchRepr({ data: target1, shape: [4] })}`);
    await show("mseLoss(y_pred, y_true)", () => mseLoss(input1, target1));
    out();
    out(`y_pred = ${torchRepr(input2).replace(/\n/g, "\n         ")}`);
    out(`y_true = ${torchRepr(target2).replace(/\n/g, "\n         ")}`);
    await show('mseLoss(y_pred, y_true, { reduction: "none" })', () => mseLoss(input2, target2, { reduction: "none" }));
    await show('mseLoss(y_pred, y_true, { reduction: "mean" })', () => mseLoss(input2, target2, { reduction: "mean" }));
    await show('mseLoss(y_pred, y_true, { reduction: "sum" })', () => mseLoss(input2, target2, { reduction: "sum" }));
    out("NumPy's np.mean(np.square(y_true - y_pred), axis=0):");
    await show("mseLoss(y_pred, y_true, { axis: 0 })", () => mseLoss(input2, target2, { axis: 0 }));
    out("Legacy arguments map as in PyTorch (size_average=False means reduction='sum'):");
    await show("mseLoss(y_pred, y_true, { sizeAverage: false })", () => mseLoss(input2, target2, { sizeAverage: false }));
  });

  await section("broadcasting", async () => {
    // The classic slip: predictions shaped (N, 1) against targets shaped (N,).
    const column = f32([[1], [2], [3]]);
    const row = Float32Array.from([1, 2, 4]);
    out(`input  = ${torchRepr(column).replace(/\n/g, "\n         ")}   # shape [3, 1]`);
    out(`target = ${torchRepr({ data: row, shape: [3] })}         # shape [3]`);
    await show("mseLoss(input, target)   // broadcasts to [3, 3]", () => mseLoss(column, row));
    await show("mseLoss(input, target, { broadcast: true })   // explicit: no warning", () => mseLoss(column, row, { broadcast: true }));
    await show("mseLoss(input, target, { broadcast: false })", () => mseLoss(column, row, { broadcast: false }));
    const wide = { data: new Float32Array(8), shape: [2, 4] };
    const narrow = { data: new Float32Array(6), shape: [2, 3] };
    const error = await show("mseLoss(zeros([2, 3]), zeros([2, 4]))", () => mseLoss(narrow, wide));
    if (!error) throw new Error("incompatible shapes [2, 3] and [2, 4] did not throw");
  });

  await section("backward: the gradient PyTorch leaves in input.grad", async () => {
    const mseLossBackward = need("mseLossBackward");
    out("PyTorch: F.mse_loss(y_pred, y_true).backward(); y_pred.grad");
    await show("mseLossBackward(y_pred, y_true)", () => mseLossBackward(input2, target2));
    const mseLossWithGrad = need("mseLossWithGrad");
    out("Fused: loss and gradient in one pass over the data:");
    out('> const { loss, grad } = mseLossWithGrad(y_pred, y_true, { reduction: "sum" })');
    const { loss, grad } = mseLossWithGrad(input2, target2, { reduction: "sum" });
    await flushWarnings();
    out(`loss: ${torchRepr(loss, "float32")}`);
    out(`grad: ${torchRepr(grad).replace(/\n/g, "\n      ")}`);
    out("A training loop reuses one gradient buffer (no new array per step):");
    out("> const buffer = new Float32Array(9)");
    out('> const step = mseLossWithGrad(y_pred, y_true, { reduction: "sum", out: buffer })');
    const buffer = new Float32Array(input2.data.length);
    const step = mseLossWithGrad(input2, target2, { reduction: "sum", out: buffer });
    out("> step.grad.data === buffer, the same loss and gradient as above");
    out(`${step.grad.data === buffer}, ${step.loss === loss && buffer.every((v, i) => v === grad.data[i])}`);
  });

  await section("timing: 1M-element float32 pair, mean reduction", async () => {
    const n = 1 << 20;
    let seed = 12345;
    const random = () => {
      // mulberry32: a fixed stream, so every run times the same data.
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const a = new Float32Array(n);
    const b = new Float32Array(n);
    for (let i = 0; i < n; i++) { a[i] = random() * 2 - 1; b[i] = random() * 2 - 1; }

    const plainJs = (x, y) => {
      let sum = 0;
      for (let i = 0; i < x.length; i++) { const d = x[i] - y[i]; sum += d * d; }
      return sum / x.length;
    };
    const median = (fn, runs) => {
      for (let i = 0; i < 3; i++) fn();
      const times = [];
      let value;
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        value = fn();
        times.push(performance.now() - t0);
      }
      times.sort((p, q) => p - q);
      return { ms: times[times.length >> 1], value };
    };
    const runs = 15;
    const js = median(() => plainJs(a, b), runs);
    const wasm = median(() => mseLoss(a, b), runs);
    let zeroCopy;
    if (typeof lib.alloc === "function") {
      const x = lib.alloc("float32", [n]);
      const y = lib.alloc("float32", [n]);
      try {
        x.view.set(a);
        y.view.set(b);
        zeroCopy = median(() => mseLoss(x, y), runs);
      } finally {
        x.dispose();
        y.dispose();
      }
    }
    const fmt = (ms) => `${ms.toFixed(3)} ms`;
    const ratio = (ms) => (js.ms / ms >= 1 ? `${(js.ms / ms).toFixed(2)}x faster than` : `${(ms / js.ms).toFixed(2)}x slower than`);
    out(`n = ${n.toLocaleString("en-US")}, median of ${runs} runs after 3 warm-up runs`);
    const row = (label, r, compare) =>
      out(`${label.padEnd(28)}${fmt(r.ms).padStart(11)}   loss ${r.value.toPrecision(9)}${compare ? `   ${ratio(r.ms)} JS` : ""}`);
    row("plain JS loop", js, false);
    row(`mse-wasm (${backend()}, copy in)`, wasm, true);
    if (zeroCopy) row(`mse-wasm (${backend()}, alloc())`, zeroCopy, true);
    const rel = Math.abs(wasm.value - js.value) / js.value;
    out(`relative difference wasm vs JS: ${rel.toExponential(2)}`);
    if (!(rel < 1e-6)) throw new Error(`wasm and JS losses differ: ${wasm.value} vs ${js.value}`);
  });

  console.warn = consoleWarn;
  out();
  out(`done in ${((performance.now() - started) / 1000).toFixed(2)} s${failures.length ? `; FAILED: ${failures.join(", ")}` : ""}`);
  process.exitCode = failures.length ? 1 : 0;
}

if (isMain(import.meta.url)) await main();
