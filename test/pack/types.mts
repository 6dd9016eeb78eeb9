// Packed-package check: the published .d.ts type-check for an ESM TypeScript consumer
// (module/moduleResolution nodenext).
import { init, mseLoss, MSELoss, MeanSquaredError, alloc, type Tensor } from "mse-wasm";

await init();
const mean: number | Tensor = mseLoss([0.9, 0.2, 0.8, 0.5], [1.0, 0.4, 0.7, 1.0]);
const criterion = new MSELoss({ reduction: "sum" });
const m = new MeanSquaredError({ squared: false });
const x = alloc("float32", [2, 3]);
x.view.set([1, 2, 3, 4, 5, 6]);
export const results = [mean, criterion.forward(x, new Float32Array(6)), m.compute()];
x.dispose();
