// The web demo: fit a polynomial to noisy points with mseLossWithGrad.
//
// mse-wasm gives the loss and dL/dprediction in one fused pass; the chain rule through
// the polynomial features (dL/dw_k = sum_i dL/dpred_i * x_i^k) and the optimizer run in JS.
// Predictions and targets live in WebAssembly memory (alloc), so no call copies them in.
//
// URL parameters (all optional): degree=1..3, optimizer=adam|sgd, lr, steps, seed,
// backend=scalar (forces the non-SIMD build). The page exposes its state as
// window.__demo for the browser test.

import { alloc, backend, init, mseLossWithGrad } from "../dist/esm/index.js";

type Optimizer = "adam" | "sgd";
type DemoTensor = ReturnType<typeof alloc>;

interface DemoState {
  losses: number[];
  done: boolean;
  step: number;
  steps: number;
  degree: number;
  optimizer: Optimizer;
  learningRate: number;
  backend: string;
  coefficients: number[];
  points: { x: number[]; y: number[] };
  noise: number;
  error: string | null;
}

declare global {
  interface Window {
    __demo: DemoState;
  }
}

const POINTS = 48;
const NOISE = 0.12;
/** The curve the points are drawn from: 0.2 + 0.4x - 0.9x^2 + 1.1x^3 on [-1, 1]. */
const TRUTH = [0.2, 0.4, -0.9, 1.1];
const STEPS_PER_FRAME = 4;
const DEFAULT_LR: Record<Optimizer, number> = { adam: 0.05, sgd: 0.3 };

const params = new URLSearchParams(location.search);
const intParam = (name: string, fallback: number, min: number, max: number): number => {
  const value = Number(params.get(name));
  return params.has(name) && Number.isInteger(value) && value >= min && value <= max ? value : fallback;
};

const $ = <T extends HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`demo: missing element #${id}`);
  return element as T;
};
const degreeSelect = $<HTMLSelectElement>("degree");
const optimizerSelect = $<HTMLSelectElement>("optimizer");
const lrInput = $<HTMLInputElement>("lr");
const fitCanvas = $<HTMLCanvasElement>("fit-canvas");
const lossCanvas = $<HTMLCanvasElement>("loss-canvas");

const state: DemoState = {
  losses: [],
  done: false,
  step: 0,
  steps: intParam("steps", 600, 1, 100000),
  degree: intParam("degree", 3, 1, 3),
  optimizer: params.get("optimizer") === "sgd" ? "sgd" : "adam",
  learningRate: 0,
  backend: "",
  coefficients: [],
  points: { x: [], y: [] },
  noise: NOISE,
  error: null,
};
state.learningRate = Number(params.get("lr")) > 0 ? Number(params.get("lr")) : DEFAULT_LR[state.optimizer];
window.__demo = state;

// --- data -------------------------------------------------------------------------

/** mulberry32: a small seeded generator, so a given seed always draws the same points. */
function seededRandom(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function polynomial(coefficients: ArrayLike<number>, x: number): number {
  let y = 0;
  for (let k = coefficients.length - 1; k >= 0; k--) y = y * x + (coefficients[k] ?? 0);
  return y;
}

let seed = intParam("seed", 7, 0, 2 ** 31 - 1);
let xs = new Float64Array(POINTS);

function drawPoints(): void {
  const random = seededRandom(seed);
  const gaussian = (): number => {
    // Box-Muller; 1 - u keeps the logarithm finite.
    const u = 1 - random();
    const v = random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  xs = Float64Array.from({ length: POINTS }, () => random() * 2 - 1).sort();
  const ys = Array.from(xs, (x) => polynomial(TRUTH, x) + NOISE * gaussian());
  state.points = { x: Array.from(xs), y: ys };
}

// --- training ---------------------------------------------------------------------

let prediction: DemoTensor | undefined;
let target: DemoTensor | undefined;
/** The gradient buffer every step writes into (`out`): no new array per step. */
let gradient: DemoTensor | undefined;
let weights = new Float64Array(0);
let moment1 = new Float64Array(0);
let moment2 = new Float64Array(0);
let run = 0; // bumps on every restart, so a stale animation loop stops

function restart(): void {
  run++;
  prediction?.dispose();
  target?.dispose();
  gradient?.dispose();
  prediction = alloc("float32", [POINTS]);
  target = alloc("float32", [POINTS]);
  gradient = alloc("float32", [POINTS]);
  target.view.set(state.points.y);
  const terms = state.degree + 1;
  weights = new Float64Array(terms);
  moment1 = new Float64Array(terms);
  moment2 = new Float64Array(terms);
  state.losses = [];
  state.step = 0;
  state.done = false;
  state.coefficients = Array.from(weights);
  document.body.dataset.done = "false";
  const thisRun = run;
  const frame = (): void => {
    if (thisRun !== run) return;
    try {
      for (let i = 0; i < STEPS_PER_FRAME && state.step < state.steps; i++) trainStep();
    } catch (error) {
      fail(error);
      return;
    }
    render();
    if (state.step < state.steps) requestAnimationFrame(frame);
    else finish();
  };
  render();
  requestAnimationFrame(frame);
}

function trainStep(): void {
  if (!prediction || !target || !gradient) return;
  const predicted = prediction.view; // a fresh live view: memory may have grown since
  for (let i = 0; i < POINTS; i++) predicted[i] = polynomial(weights, xs[i]!);

  // One fused wasm call: mean((pred - y)^2) and d loss / d pred = 2 (pred - y) / n,
  // written into the gradient tensor in wasm memory (no copy, no allocation).
  const { loss, grad } = mseLossWithGrad(prediction, target, { reduction: "mean", out: gradient });
  if (typeof loss !== "number") throw new Error(`mseLossWithGrad returned a non-scalar loss: ${String(loss)}`);

  const t = state.step + 1;
  const dLoss = grad.data; // gradient's live view
  for (let k = 0; k < weights.length; k++) {
    // Chain rule through pred_i = sum_k w_k x_i^k.
    let g = 0;
    for (let i = 0; i < POINTS; i++) g += dLoss[i]! * xs[i]! ** k;
    if (state.optimizer === "adam") {
      const beta1 = 0.9;
      const beta2 = 0.999;
      moment1[k] = beta1 * moment1[k]! + (1 - beta1) * g;
      moment2[k] = beta2 * moment2[k]! + (1 - beta2) * g * g;
      const m = moment1[k]! / (1 - beta1 ** t);
      const v = moment2[k]! / (1 - beta2 ** t);
      weights[k] = weights[k]! - (state.learningRate * m) / (Math.sqrt(v) + 1e-8);
    } else {
      weights[k] = weights[k]! - state.learningRate * g;
    }
  }
  state.losses.push(loss);
  state.step = t;
  state.coefficients = Array.from(weights);
}

function finish(): void {
  state.done = true;
  document.body.dataset.done = "true";
  document.body.dataset.finalLoss = String(state.losses[state.losses.length - 1]);
}

function fail(error: unknown): void {
  state.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  state.done = true;
  document.body.dataset.done = "error";
  $("error").textContent = state.error;
}

// --- drawing ----------------------------------------------------------------------

const COLORS = { points: "#2563eb", fit: "#ea580c", truth: "#9aa3b2", loss: "#7c3aed", grid: "#e6e9ef", axis: "#5b6475" };

/** A 2-D context in CSS pixels on a canvas backed at devicePixelRatio. */
function context(canvas: HTMLCanvasElement): { ctx: CanvasRenderingContext2D; width: number; height: number } {
  const width = canvas.width / (Number(canvas.dataset.scale) || 1);
  const height = canvas.height / (Number(canvas.dataset.scale) || 1);
  const scale = Math.max(1, Math.min(3, window.devicePixelRatio || 1));
  if (canvas.dataset.scale !== String(scale)) {
    canvas.width = Math.round(width * scale);
    canvas.height = Math.round(height * scale);
    canvas.dataset.scale = String(scale);
  }
  const ctx = canvas.getContext("2d");
  if (!ctx) throw new Error("demo: no 2-D canvas context");
  ctx.setTransform(scale, 0, 0, scale, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.font = "11px system-ui, sans-serif";
  return { ctx, width, height };
}

const PAD = { left: 44, right: 12, top: 10, bottom: 24 };

function renderFit(): void {
  const { ctx, width, height } = context(fitCanvas);
  const yMin = Math.min(...state.points.y, -2) - 0.1;
  const yMax = Math.max(...state.points.y, 1) + 0.1;
  const px = (x: number): number => PAD.left + ((x + 1) / 2) * (width - PAD.left - PAD.right);
  const py = (y: number): number => height - PAD.bottom - ((y - yMin) / (yMax - yMin)) * (height - PAD.top - PAD.bottom);

  ctx.strokeStyle = COLORS.grid;
  ctx.fillStyle = COLORS.axis;
  ctx.lineWidth = 1;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (let y = Math.ceil(yMin * 2) / 2; y <= yMax; y += 0.5) {
    ctx.beginPath();
    ctx.moveTo(PAD.left, py(y));
    ctx.lineTo(width - PAD.right, py(y));
    ctx.stroke();
    ctx.fillText(y.toFixed(1), PAD.left - 6, py(y));
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (let x = -1; x <= 1.001; x += 0.5) {
    ctx.beginPath();
    ctx.moveTo(px(x), PAD.top);
    ctx.lineTo(px(x), height - PAD.bottom);
    ctx.stroke();
    ctx.fillText(x.toFixed(1), px(x), height - PAD.bottom + 6);
  }

  const curve = (coefficients: ArrayLike<number>): void => {
    ctx.beginPath();
    for (let i = 0; i <= 200; i++) {
      const x = -1 + (2 * i) / 200;
      const y = Math.max(yMin - 10, Math.min(yMax + 10, polynomial(coefficients, x)));
      if (i === 0) ctx.moveTo(px(x), py(y));
      else ctx.lineTo(px(x), py(y));
    }
    ctx.stroke();
  };
  ctx.save();
  ctx.beginPath();
  ctx.rect(PAD.left, PAD.top, width - PAD.left - PAD.right, height - PAD.top - PAD.bottom);
  ctx.clip();
  ctx.setLineDash([6, 5]);
  ctx.strokeStyle = COLORS.truth;
  ctx.lineWidth = 1.5;
  curve(TRUTH);
  ctx.setLineDash([]);

  ctx.fillStyle = COLORS.points;
  for (let i = 0; i < state.points.x.length; i++) {
    ctx.beginPath();
    ctx.arc(px(state.points.x[i]!), py(state.points.y[i]!), 3.5, 0, 2 * Math.PI);
    ctx.fill();
  }

  ctx.strokeStyle = COLORS.fit;
  ctx.lineWidth = 3;
  curve(weights);
  ctx.restore();
}

function renderLoss(): void {
  const { ctx, width, height } = context(lossCanvas);
  const losses = state.losses.filter((l) => l > 0 && Number.isFinite(l));
  const right = width - PAD.right;
  const bottom = height - PAD.bottom;
  const maxStep = Math.max(state.steps, 1);
  const lo = losses.length ? Math.floor(Math.log10(Math.min(...losses))) : -3;
  const hi = losses.length ? Math.ceil(Math.log10(Math.max(...losses))) : 1;
  const top = hi > lo ? hi : lo + 1;
  const px = (step: number): number => PAD.left + (step / maxStep) * (right - PAD.left);
  const py = (loss: number): number => bottom - ((Math.log10(loss) - lo) / (top - lo)) * (bottom - PAD.top);

  ctx.strokeStyle = COLORS.grid;
  ctx.fillStyle = COLORS.axis;
  ctx.lineWidth = 1;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (let e = lo; e <= top; e++) {
    ctx.beginPath();
    ctx.moveTo(PAD.left, py(10 ** e));
    ctx.lineTo(right, py(10 ** e));
    ctx.stroke();
    ctx.fillText(`1e${e}`, PAD.left - 6, py(10 ** e));
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  const tick = 10 ** Math.floor(Math.log10(maxStep));
  const stepTick = maxStep / tick >= 4 ? tick : tick / 2;
  for (let s = 0; s <= maxStep; s += stepTick) ctx.fillText(String(s), px(s), bottom + 6);

  ctx.strokeStyle = COLORS.loss;
  ctx.lineWidth = 2;
  ctx.beginPath();
  state.losses.forEach((loss, i) => {
    if (!(loss > 0 && Number.isFinite(loss))) return;
    if (i === 0) ctx.moveTo(px(i + 1), py(loss));
    else ctx.lineTo(px(i + 1), py(loss));
  });
  ctx.stroke();
}

function formatFormula(coefficients: number[]): string {
  const terms = coefficients.map((c, k) => {
    const magnitude = Math.abs(c).toFixed(3);
    const power = k === 0 ? "" : k === 1 ? "·x" : `·x${["", "", "²", "³"][k]}`;
    return { sign: c < 0 ? "−" : "+", text: magnitude + power };
  });
  return (
    "ŷ = " +
    terms.map((t, i) => (i === 0 ? (t.sign === "−" ? "−" : "") + t.text : ` ${t.sign} ${t.text}`)).join("")
  );
}

function render(): void {
  renderFit();
  renderLoss();
  $("step").textContent = `${state.step} / ${state.steps}`;
  const last = state.losses[state.losses.length - 1];
  $("loss").textContent = last === undefined ? "–" : last.toPrecision(5);
  $("formula").textContent = formatFormula(Array.from(weights));
}

// --- wiring -----------------------------------------------------------------------

function readControls(): void {
  state.degree = Number(degreeSelect.value);
  const optimizer: Optimizer = optimizerSelect.value === "sgd" ? "sgd" : "adam";
  if (optimizer !== state.optimizer) lrInput.value = String(DEFAULT_LR[optimizer]);
  state.optimizer = optimizer;
  const lr = Number(lrInput.value);
  state.learningRate = lr > 0 && Number.isFinite(lr) ? lr : DEFAULT_LR[optimizer];
}

async function main(): Promise<void> {
  await init(params.get("backend") === "scalar" ? { simd: false } : undefined);
  state.backend = backend();
  const badge = $("backend");
  badge.textContent = state.backend;
  badge.classList.toggle("scalar", state.backend === "scalar");

  degreeSelect.value = String(state.degree);
  optimizerSelect.value = state.optimizer;
  lrInput.value = String(state.learningRate);
  for (const control of [degreeSelect, optimizerSelect, lrInput]) {
    control.addEventListener("change", () => {
      readControls();
      restart();
    });
  }
  $("restart").addEventListener("click", () => {
    readControls();
    restart();
  });
  $("reseed").addEventListener("click", () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    drawPoints();
    readControls();
    restart();
  });

  drawPoints();
  restart();
}

main().catch(fail);
