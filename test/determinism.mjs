// Deterministic cases and a canonical byte encoding of their results, shared by
// test/digest.test.ts (node and Chromium), scripts/gen_digest.mjs (which writes
// test/fixtures/digest.json from the built library), the worker tests and the Deno
// digest check. Plain JavaScript with no imports, so every runtime loads it as is.
//
// The digest is a cross-runtime and cross-build consistency check (the same inputs give
// the same bits everywhere), not a correctness reference: correctness is checked against
// PyTorch fixtures and the float64 reference.
//
// Inputs use only + - * / and Math.fround on PRNG output, never transcendental
// functions, so the cases themselves are bit-identical in every engine.

/** mulberry32 */
export function prng(seed) {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const op = (dtype, shape, values, form = "tensor") => ({
  dtype,
  shape,
  values: dtype === "float32" ? values.map((v) => Math.fround(v)) : values,
  form,
});

/** API.md's seed examples (the demo's data), in float32 and float64. */
export function seedCases() {
  const cases = [];
  for (const dtype of ["float32", "float64"]) {
    const input1 = op(dtype, [4], [0.1, 0.2, 0.4, 0.8]);
    const target1 = op(dtype, [4], [0.0, 0.4, 0.3, 0.3]);
    const input2 = op(dtype, [3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const target2 = op(dtype, [3, 3], [1, 4, 6, 2, 5, 3, 4, 7, 8]);
    for (const reduction of ["mean", "sum", "none"]) {
      cases.push({ fn: "mseLoss", input: input1, target: target1, options: { reduction } });
      cases.push({ fn: "mseLoss", input: input2, target: target2, options: { reduction } });
      cases.push({ fn: "mseLossBackward", input: input2, target: target2, options: { reduction } });
    }
    cases.push({ fn: "mseLoss", input: input2, target: target2, options: { axis: 0 } });
    cases.push({ fn: "mseLoss", input: input2, target: target2, options: { sizeAverage: false } });
    cases.push({ fn: "mseLossWithGrad", input: input2, target: target2, options: { reduction: "sum" } });
    cases.push({ fn: "metric", input: input1, target: target1, options: {} });
  }
  // the seed's nested number[] form, and the classic (N, 1) vs (N,) broadcast
  cases.push({ fn: "mseLoss", input: op("float64", [4], [0.1, 0.2, 0.4, 0.8], "nested"), target: op("float64", [4], [0.0, 0.4, 0.3, 0.3], "nested"), options: {} });
  cases.push({ fn: "mseLoss", input: op("float32", [3, 1], [1, 2, 3]), target: op("float32", [3], [1, 2, 4]), options: { broadcast: true } });
  return cases;
}

const DIMS = [1, 1, 2, 3, 5, 8, 17, 33];
const SPECIALS = [Number.NaN, Infinity, -Infinity, 0, -0, 1e6, -1e6];

function values(rand, n, style) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const u = rand();
    if (style === 0) out.push(Math.floor(u * 17) - 8);
    else if (style === 1) out.push((u * 2 - 1) * 100);
    else out.push(rand() < 0.04 ? SPECIALS[Math.floor(u * SPECIALS.length)] : (u * 2 - 1) * 3);
  }
  return out;
}

function numel(shape) {
  return shape.reduce((a, b) => a * b, 1);
}

/** `count` generated cases: ranks 0..4, broadcasting, dtypes, reductions, axis, weights, gradOutput. */
export function propertyCases(count = 400, seed = 0xd16e57) {
  const rand = prng(seed);
  const pick = (list) => list[Math.floor(rand() * list.length)];
  const cases = [];
  while (cases.length < count) {
    const rank = Math.floor(rand() * 5);
    let shape = Array.from({ length: rank }, () => pick(DIMS));
    while (numel(shape) > 2048) shape = shape.map((d) => Math.max(1, d >> 1));
    const derive = () => shape.slice(Math.floor(rand() * 2) && rank > 0 ? 1 : 0).map((d) => (rand() < 0.25 ? 1 : d));
    const broadcasting = rand() < 0.4;
    const inShape = broadcasting ? derive() : shape.slice();
    const tgtShape = broadcasting ? derive() : shape.slice();
    const full = inShape.length >= tgtShape.length ? inShape.map((d, i) => Math.max(d, tgtShape[i - (inShape.length - tgtShape.length)] ?? 1)) : tgtShape.map((d, i) => Math.max(d, inShape[i - (tgtShape.length - inShape.length)] ?? 1));
    const mixed = rand() < 0.2;
    const dtype = rand() < 0.5 ? "float32" : "float64";
    const other = mixed ? (dtype === "float32" ? "float64" : "float32") : dtype;
    const style = Math.floor(rand() * 3);
    const input = op(dtype, inShape, values(rand, numel(inShape), style));
    const target = op(other, tgtShape, values(rand, numel(tgtShape), style));
    const fn = pick(["mseLoss", "mseLoss", "mseLossBackward", "mseLossWithGrad", "metric"]);
    const reduction = pick(["mean", "sum", "none"]);
    const options = { reduction };
    if (broadcasting) options.broadcast = true;
    if (reduction !== "none" && full.length > 0 && rand() < 0.3) {
      options.axis = Math.floor(rand() * full.length) - (rand() < 0.5 ? full.length : 0);
      if (rand() < 0.5) options.keepdims = true;
    }
    const c = { fn, input, target, options };
    if (rand() < 0.25) {
      const wShape = full.map((d) => (rand() < 0.3 ? 1 : d));
      c.weight = op(dtype, wShape, values(rand, numel(wShape), 1).map((v) => Math.abs(v) / 25));
    }
    if (fn === "mseLossBackward" && rand() < 0.5) c.gradOutput = reduction === "none" ? op(dtype, full, values(rand, numel(full), 0)) : 0.5;
    cases.push(c);
  }
  return cases;
}

/**
 * Column reductions of tall operands: many elements per output, so the strided kernels
 * gather each output's column into the blocked accumulation, unless there are many
 * outputs (the generated cases are too small to reach either rule).
 */
export function columnCases(seed = 0xc0117) {
  const rand = prng(seed);
  const cases = [];
  for (const dtype of ["float32", "float64"]) {
    const x = op(dtype, [200, 3], values(rand, 600, 1));
    const y = op(dtype, [200, 3], values(rand, 600, 1));
    const w = op(dtype, [200, 1], values(rand, 200, 1).map((v) => Math.abs(v) / 25));
    const row = op(dtype, [1, 3], values(rand, 3, 1));
    cases.push({ fn: "mseLoss", input: x, target: y, options: { axis: 0 } });
    cases.push({ fn: "mseLoss", input: x, target: y, options: { axis: 0, reduction: "sum", keepdims: true } });
    cases.push({ fn: "mseLoss", input: x, target: y, weight: w, options: { axis: 0 } });
    cases.push({ fn: "mseLossBackward", input: row, target: y, options: { broadcast: true } });
    cases.push({ fn: "mseLossWithGrad", input: x, target: y, options: { axis: 0 } });
    // more than 16 outputs: the rows are walked instead, although each output has many
    const wide = op(dtype, [100, 40], values(rand, 4000, 1));
    cases.push({ fn: "mseLoss", input: wide, target: op(dtype, [100, 40], values(rand, 4000, 1)), options: { axis: 0, reduction: "sum" } });
  }
  return cases;
}

/** Every case the digest covers. */
export function allCases() {
  return [...seedCases(), ...propertyCases(), ...columnCases()];
}

function nest(values, shape) {
  if (shape.length <= 1) return values.slice();
  const inner = numel(shape.slice(1));
  return Array.from({ length: shape[0] }, (_, i) => nest(values.slice(i * inner, (i + 1) * inner), shape.slice(1)));
}

/** An operand as an API.md array argument. */
export function toArgument(o) {
  if (o.form === "nested") return nest(o.values, o.shape);
  const data = o.dtype === "float32" ? Float32Array.from(o.values) : Float64Array.from(o.values);
  return { data, shape: o.shape.slice() };
}

/** Runs one case; an error becomes `{ error: <class name> }`. */
export function runCase(lib, c) {
  const input = toArgument(c.input);
  const target = toArgument(c.target);
  const options = { ...c.options };
  if (c.weight) options.weight = toArgument(c.weight);
  try {
    switch (c.fn) {
      case "mseLoss":
        return lib.mseLoss(input, target, options);
      case "mseLossBackward":
        if (c.gradOutput !== undefined) options.gradOutput = typeof c.gradOutput === "number" ? c.gradOutput : toArgument(c.gradOutput);
        return lib.mseLossBackward(input, target, options);
      case "mseLossWithGrad":
        return lib.mseLossWithGrad(input, target, options);
      default: {
        const m = new lib.MeanSquaredError({ broadcast: true });
        m.update(input, target);
        m.update(target, input);
        return m.compute();
      }
    }
  } catch (e) {
    return { error: e && e.name ? e.name : "thrown" };
  }
}

/**
 * Canonical bytes of a result: float bits little-endian with every NaN written as the
 * canonical quiet NaN (wasm leaves NaN payloads unspecified), shapes as u32.
 */
export function encodeResult(r) {
  const parts = [];
  const u8 = (...b) => parts.push(Uint8Array.from(b));
  const f64 = (x) => {
    const b = new Uint8Array(8);
    if (Number.isNaN(x)) b.set([0, 0, 0, 0, 0, 0, 0xf8, 0x7f]);
    else new DataView(b.buffer).setFloat64(0, x, true);
    parts.push(b);
  };
  const u32 = (x) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, x, true);
    parts.push(b);
  };
  const tensor = (t) => {
    const is32 = t.data instanceof Float32Array;
    u8(2, is32 ? 32 : 64, t.shape.length);
    for (const d of t.shape) u32(d);
    const b = new Uint8Array(t.data.length * (is32 ? 4 : 8));
    const view = new DataView(b.buffer);
    for (let i = 0; i < t.data.length; i++) {
      const x = t.data[i];
      if (is32) {
        if (Number.isNaN(x)) view.setUint32(i * 4, 0x7fc00000, true);
        else view.setFloat32(i * 4, x, true);
      } else if (Number.isNaN(x)) {
        view.setUint32(i * 8, 0, true);
        view.setUint32(i * 8 + 4, 0x7ff80000, true);
      } else view.setFloat64(i * 8, x, true);
    }
    parts.push(b);
  };
  const any = (x) => {
    if (typeof x === "number") {
      u8(1);
      f64(x);
    } else if (x && x.error) {
      u8(4);
      parts.push(new TextEncoder().encode(x.error));
    } else if (x && "grad" in x) {
      u8(3);
      any(x.loss);
      any(x.grad);
    } else if (x && (x.data instanceof Float32Array || x.data instanceof Float64Array)) {
      tensor(x);
    } else {
      u8(5);
    }
  };
  any(r);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let k = 0;
  for (const p of parts) {
    out.set(p, k);
    k += p.length;
  }
  return out;
}

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function sha256(bytes) {
  return hex(await globalThis.crypto.subtle.digest("SHA-256", bytes));
}

/** Cases per group in the digest file: a mismatch names the group(s) it is in. */
export const GROUP = 25;

/** The encoded result of every case, in order (what the digests and the workers compare). */
export function encodedResults(lib, cases = allCases()) {
  return cases.map((c) => encodeResult(runCase(lib, c)));
}

/** The indices at which two lists of encoded results differ (a missing entry counts). */
export function differingCases(a, b) {
  const out = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (!x || !y || x.length !== y.length || x.some((v, k) => v !== y[k])) out.push(i);
  }
  return out;
}

/**
 * SHA-256 of the concatenated encodings of every case's result, plus one digest per
 * group of GROUP cases (to localise a difference).
 */
export async function digestOf(lib, cases = allCases()) {
  return digestOfEncoded(encodedResults(lib, cases));
}

/** The digest of already encoded results (e.g. computed in a worker). */
export async function digestOfEncoded(encoded) {
  const concat = (list) => {
    const out = new Uint8Array(list.reduce((n, p) => n + p.length, 0));
    let k = 0;
    for (const p of list) {
      out.set(p, k);
      k += p.length;
    }
    return out;
  };
  const groups = [];
  for (let i = 0; i < encoded.length; i += GROUP) groups.push(await sha256(concat(encoded.slice(i, i + GROUP))));
  return { cases: encoded.length, sha256: await sha256(concat(encoded)), groups };
}
