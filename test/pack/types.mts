// Packed-package check: the published .d.ts type-check for an ESM TypeScript consumer
// (module/moduleResolution nodenext).
import { init, mseLoss, mseLossBackward, mseLossWithGrad, MSELoss, MeanSquaredError, alloc, type Tensor } from "mse-wasm";

await init();
const mean: number | Tensor = mseLoss([0.9, 0.2, 0.8, 0.5], [1.0, 0.4, 0.7, 1.0]);
const criterion = new MSELoss({ reduction: "sum" });
const m = new MeanSquaredError({ squared: false });
const x = alloc("float32", [2, 3]);
x.view.set([1, 2, 3, 4, 5, 6]);
// The gradient into the caller's buffer: a typed array or a WasmTensor.
const buffer = new Float32Array(6);
const grad: Tensor = mseLossBackward(new Float32Array(6), new Float32Array(6), { reduction: "sum", out: buffer });
const y = alloc("float32", [2, 3]);
const g = alloc("float32", [2, 3]);
const step = mseLossWithGrad(x, y, { out: g });
// mseLoss writes a Tensor result ("none", axis, keepdims) into `out`.
const perElement: Tensor = mseLoss(x, y, { reduction: "none", out: buffer });
// @ts-expect-error: with `out` the result is a Tensor, not a number
const notANumber: number = mseLoss(x, y, { axis: 0, out: buffer });
// @ts-expect-error: MSELoss takes no `out` (its options serve forward and backward)
new MSELoss({ out: buffer });
export const results = [mean, criterion.forward(x, new Float32Array(6)), m.compute(), grad.data, step.loss, step.grad.shape, perElement.data, notANumber];
x.dispose();
y.dispose();
g.dispose();
