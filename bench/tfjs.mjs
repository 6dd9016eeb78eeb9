// TensorFlow.js 4.22 contenders (cpu and wasm backends), loaded offline from node_modules.
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);

let tf = null;
let info = null;

/**
 * Loads tfjs-core with the cpu and wasm backends. The wasm backend is pointed at the .wasm files
 * in node_modules (a directory prefix; Emscripten reads it with fs in Node, so no network).
 * Threads are switched off: the threaded build needs a Worker from a Blob URL, which Node lacks,
 * so the single-threaded SIMD build (tfjs-backend-wasm-simd.wasm) is what runs.
 */
export async function loadTf() {
  if (tf) return { tf, info };
  try {
    tf = require("@tensorflow/tfjs-core");
    require("@tensorflow/tfjs-backend-cpu");
    const wasmBackend = require("@tensorflow/tfjs-backend-wasm");
    const simdFile = require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm");
    wasmBackend.setWasmPaths(path.dirname(simdFile) + path.sep);
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    tf.enableProdMode();   // what a production user sets; also silences the "install tfjs-node" banner
    registerMseGradients(tf);
    const backends = [];
    for (const name of ["cpu", "wasm"]) {
      try { if (await tf.setBackend(name)) backends.push(name); } catch (err) { console.warn(`tfjs ${name}: ${err?.message ?? err}`); }
    }
    const simd = backends.includes("wasm") ? await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT") : false;
    info = {
      version: tf.version_core,
      backends,
      wasmBuild: backends.includes("wasm") ? (simd ? "SIMD build, 1 thread" : "non-SIMD build, 1 thread") : null,
    };
    return { tf, info };
  } catch (err) {
    console.warn(`TensorFlow.js not available, its contenders are skipped: ${err?.message ?? err}`);
    tf = null;
    return { tf: null, info: { version: null, backends: [], error: String(err?.message ?? err) } };
  }
}

/**
 * tfjs-core's Node bundle ships no gradient definitions (the `@tensorflow/tfjs` union package
 * registers them from ESM files whose extensionless imports Node cannot load). Gradients are
 * registered here for exactly the three kernels `losses.meanSquaredError` runs, with the same
 * formulas as tfjs-core's src/gradients/{SquaredDifference,Sum,RealDiv}_grad.ts.
 */
function registerMseGradients(tf) {
  const { SquaredDifference, Sum, RealDiv } = tf;
  const have = (name) => tf.getGradient?.(name) != null;
  if (!have(SquaredDifference)) {
    tf.registerGradient({
      kernelName: SquaredDifference, inputsToSave: ["a", "b"],
      gradFunc: (dy, [a, b]) => {
        const two = tf.scalar(2);
        return { a: () => tf.mul(dy, tf.mul(two, tf.sub(a, b))), b: () => tf.mul(dy, tf.mul(two, tf.sub(b, a))) };
      },
    });
  }
  if (!have(Sum)) {
    tf.registerGradient({
      kernelName: Sum, inputsToSave: ["x"],
      gradFunc: (dy, [x], attrs) => {
        const expanded = x.shape.slice();
        for (const axis of tf.util.parseAxisParam(attrs.axis, x.shape)) expanded[axis] = 1;
        const derX = tf.mul(tf.reshape(dy, expanded), tf.ones(x.shape, "float32"));
        return { x: () => derX };
      },
    });
  }
  if (!have(RealDiv)) {
    tf.registerGradient({
      kernelName: RealDiv, inputsToSave: ["a", "b"],
      gradFunc: (dy, [a, b]) => {
        const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
        const reduceTo = (res, shape) => {
          const axes = tf.backend_util.getReductionAxes(shape, outShape);
          return axes.length > 0 ? tf.reshape(tf.sum(res, axes), shape) : res;
        };
        return {
          a: () => reduceTo(tf.div(dy, tf.cast(b, "float32")), a.shape),
          b: () => tf.neg(tf.div(reduceTo(tf.mul(dy, tf.cast(a, "float32")), b.shape), tf.cast(tf.square(b), "float32"))),
        };
      },
    });
  }
}

/** Switches the active backend (outside any timed region). */
export async function useBackend(name) {
  if (tf.getBackend() !== name) await tf.setBackend(name);
}

/**
 * `tf.losses.meanSquaredError` as a user pays for it: two tensors created from the Float32Arrays,
 * the loss, `dataSync`, and disposal of everything (tidy).
 */
export function tfMean(input, target) {
  return tf.tidy(() => {
    const labels = tf.tensor1d(target, "float32");
    const predictions = tf.tensor1d(input, "float32");
    return tf.losses.meanSquaredError(labels, predictions).dataSync()[0];
  });
}

/** Loss and gradient w.r.t. predictions with `tf.valueAndGrad`, both read back with `dataSync`. */
export function tfValueAndGrad(input, target) {
  return tf.tidy(() => {
    const labels = tf.tensor1d(target, "float32");
    const predictions = tf.tensor1d(input, "float32");
    const { value, grad } = tf.valueAndGrad((p) => tf.losses.meanSquaredError(labels, p))(predictions);
    const g = grad.dataSync();
    return value.dataSync()[0] + g[0] * 0;
  });
}

export function tfNumTensors() { return tf ? tf.memory().numTensors : 0; }
