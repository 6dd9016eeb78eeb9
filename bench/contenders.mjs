// Naive JavaScript baselines and the mse-wasm contenders.
//
// The naive loops are what a user writes by hand: one `for` over the two arrays, one JS-number
// (float64) accumulator, divide by n. float32 and float64 get separate function objects so each
// stays monomorphic in V8. The gradient baseline allocates a fresh output array per call, as
// every other gradient contender of its group returns a fresh, caller-owned gradient; the
// baseline of the `out` group writes into one reused array, as its contenders write into `out`.

export function naiveMeanF32(input, target) {
  const n = input.length;
  let sum = 0;
  for (let i = 0; i < n; i++) { const d = input[i] - target[i]; sum += d * d; }
  return sum / n;
}

export function naiveMeanF64(input, target) {
  const n = input.length;
  let sum = 0;
  for (let i = 0; i < n; i++) { const d = input[i] - target[i]; sum += d * d; }
  return sum / n;
}

export function naiveLossGradF32(input, target) {
  const n = input.length;
  const grad = new Float32Array(n);
  const scale = 2 / n;
  let sum = 0;
  for (let i = 0; i < n; i++) { const d = input[i] - target[i]; sum += d * d; grad[i] = scale * d; }
  return { loss: sum / n, grad };
}

/** The same loop writing into a caller's array (reused across calls, as a training loop does). */
export function naiveLossGradIntoF32(input, target, grad) {
  const n = input.length;
  const scale = 2 / n;
  let sum = 0;
  for (let i = 0; i < n; i++) { const d = input[i] - target[i]; sum += d * d; grad[i] = scale * d; }
  return sum / n;
}

export function naiveLossGradIntoF64(input, target, grad) {
  const n = input.length;
  const scale = 2 / n;
  let sum = 0;
  for (let i = 0; i < n; i++) { const d = input[i] - target[i]; sum += d * d; grad[i] = scale * d; }
  return sum / n;
}

export function naiveLossGradF64(input, target) {
  const n = input.length;
  const grad = new Float64Array(n);
  const scale = 2 / n;
  let sum = 0;
  for (let i = 0; i < n; i++) { const d = input[i] - target[i]; sum += d * d; grad[i] = scale * d; }
  return { loss: sum / n, grad };
}

/**
 * Zero-copy operands: WasmTensors holding a copy of the case's data (made once, outside
 * timing), and, for the `out` group only, one more for a gradient written in place.
 */
function makeWasmTensors(lib, dtype, input, target) {
  const a = lib.alloc(dtype, [input.length]);
  const b = lib.alloc(dtype, [target.length]);
  a.view.set(input);
  b.view.set(target);
  let grad = null;
  return {
    a,
    b,
    grad: () => (grad ??= lib.alloc(dtype, [input.length])),
    dispose() { a.dispose(); b.dispose(); grad?.dispose(); },
  };
}

/**
 * The contenders of one case and a teardown freeing their WasmTensors. Each contender is
 * { id, group, label, call(a, b), args: [a, b], backend? } or { ..., sample() } (native): the
 * timing loop passes `args` to `call`, so operands reach the code under test as arguments, as
 * in user code, not as constants the JIT could specialise on.
 */
export function buildContenders({ lib, tfx, dtype, n, input, target, groups, nativeFor }) {
  const f32 = dtype === "float32";
  const list = [];
  const js = [input, target];
  const add = (c) => list.push({ args: js, ...c });
  // one pair of WasmTensors shared by every zero-copy contender of the case
  let zc = null;
  const wasmTensors = () => {
    if (!zc) zc = makeWasmTensors(lib, dtype, input, target);
    return [zc.a, zc.b];
  };
  const gradTensor = () => {
    wasmTensors();
    return zc.grad();
  };

  // ---- loss ("mean") ----
  if (groups.includes("mean")) {
    const naive = f32 ? naiveMeanF32 : naiveMeanF64;
    add({ id: "naive", group: "mean", label: "naive JS loop", call: (a, b) => naive(a, b) });
    if (tfx && f32) {
      for (const backend of tfx.backends) {
        add({ id: `tfjs-${backend}`, group: "mean", label: `TF.js ${backend}${backend === "wasm" ? " (SIMD)" : ""}`, backend, call: tfx.tfMean });
      }
    }
    if (lib) {
      const { mseLoss } = lib;
      add({ id: "mse-js", group: "mean", label: "mse-wasm, JS typed arrays", call: (a, b) => mseLoss(a, b) });
      add({ id: "mse-zc", group: "mean", label: "mse-wasm, WasmTensor (zero-copy)", call: (a, b) => mseLoss(a, b), args: wasmTensors() });
    }
    if (nativeFor) {
      const nat = nativeFor(n);
      if (nat) add({ id: "native-c", group: "mean", label: "native C -O3 -march=native (bandwidth ref.)", sample: nat.sample, noValue: true });
    }
  }

  // ---- fused loss + gradient ("grad") ----
  if (groups.includes("grad")) {
    const naiveGrad = f32 ? naiveLossGradF32 : naiveLossGradF64;
    add({ id: "naive-grad", group: "grad", label: "naive JS loss+grad loop", call: (a, b) => { const r = naiveGrad(a, b); return r.loss + r.grad[0] * 0; } });
    if (tfx && f32) {
      for (const backend of tfx.backends) {
        if (tfx.gradMaxN[backend] !== undefined && n > tfx.gradMaxN[backend]) continue;
        add({ id: `tfjs-${backend}-grad`, group: "grad", label: `TF.js ${backend} valueAndGrad`, backend, call: tfx.tfValueAndGrad });
      }
    }
    if (lib) {
      const { mseLoss, mseLossWithGrad, mseLossBackward } = lib;
      const withGrad = (a, b) => { const r = mseLossWithGrad(a, b); return r.loss + r.grad.data[0] * 0; };
      const separate = (a, b) => mseLoss(a, b) + mseLossBackward(a, b).data[0] * 0;
      add({ id: "withgrad-js", group: "grad", label: "mseLossWithGrad, JS typed arrays", call: withGrad });
      add({ id: "withgrad-zc", group: "grad", label: "mseLossWithGrad, WasmTensor", call: withGrad, args: wasmTensors() });
      add({ id: "separate-js", group: "grad", label: "mseLoss + mseLossBackward, JS typed arrays", call: separate });
      add({ id: "separate-zc", group: "grad", label: "mseLoss + mseLossBackward, WasmTensor", call: separate, args: wasmTensors() });
    }
  }

  // ---- the same, the gradient written into a caller's array (`out`, reused per call) ----
  if (groups.includes("grad-out")) {
    const naiveInto = f32 ? naiveLossGradIntoF32 : naiveLossGradIntoF64;
    const jsGrad = f32 ? new Float32Array(n) : new Float64Array(n);
    add({ id: "naive-grad-out", group: "grad-out", label: "naive JS loss+grad loop into an array", call: (a, b) => naiveInto(a, b, jsGrad) });
    if (lib) {
      const { mseLoss, mseLossWithGrad, mseLossBackward } = lib;
      const outJs = { out: jsGrad };
      const outZc = { out: gradTensor() };
      const withGradJs = (a, b) => mseLossWithGrad(a, b, outJs).loss;
      const withGradZc = (a, b) => mseLossWithGrad(a, b, outZc).loss;
      const separateZc = (a, b) => mseLoss(a, b) + mseLossBackward(a, b, outZc).shape.length * 0;
      add({ id: "withgrad-js-out", group: "grad-out", label: `mseLossWithGrad, JS typed arrays, out: ${f32 ? "Float32Array" : "Float64Array"}`, call: withGradJs });
      add({ id: "withgrad-zc-out", group: "grad-out", label: "mseLossWithGrad, WasmTensor, out: WasmTensor", call: withGradZc, args: wasmTensors() });
      add({ id: "separate-zc-out", group: "grad-out", label: "mseLoss + mseLossBackward, WasmTensor, out: WasmTensor", call: separateZc, args: wasmTensors() });
    }
  }
  return { contenders: list, teardown: () => zc?.dispose() };
}
