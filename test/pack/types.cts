// Packed-package check: the published .d.ts type-check for a CommonJS TypeScript consumer
// (module/moduleResolution nodenext, `import x = require(...)`).
import mse = require("mse-wasm");

export async function main(): Promise<number> {
  await mse.init();
  const loss = mse.mseLoss([0.9, 0.2, 0.8, 0.5], [1.0, 0.4, 0.7, 1.0], { reduction: "none" });
  const grad: mse.Tensor = mse.mseLossBackward([0.9, 0.2], [1.0, 0.4]);
  return typeof loss === "number" ? loss : loss.data[0]! + grad.data[0]!;
}
