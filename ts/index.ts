// mse-wasm: PyTorch-exact mean squared error in WebAssembly (SIMD128 and scalar builds).
// The public surface only; each name is defined in the file named beside it.
export { init, initSync, backend, heapStats } from "./init.js";
export type { Backend, InitOptions, HeapStats } from "./init.js";
export { mseLoss } from "./loss.js";
export type { Tensor } from "./loss.js";
export { mseLossBackward, mseLossWithGrad } from "./grad.js";
export type { LossWithGrad } from "./grad.js";
export { MSELoss } from "./module.js";
export { MeanSquaredError } from "./metric.js";
export type { MeanSquaredErrorOptions, MeanSquaredErrorState, StateNumber } from "./metric.js";
export { alloc, WasmTensor } from "./tensor.js";
export type { DType } from "./heap.js";
export type { ArrayArgument, NestedNumberArray, TensorLike } from "./coerce.js";
export type { Reduction, MseLossOptions, MseLossCallOptions, MseLossBackwardOptions } from "./options.js";
export { ShapeError } from "./errors.js";
