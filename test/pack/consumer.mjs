// Packed-package check: ESM import of the installed tarball in Node.
// Usage: node consumer.mjs [simd|scalar]; prints one line `RESULT <json>`.
import { init, backend, mseLoss } from "mse-wasm";

const wanted = process.argv[2] ?? "simd";
await init(wanted === "scalar" ? { simd: false } : undefined);
const seed4 = { input: [0.9, 0.2, 0.8, 0.5], target: [1.0, 0.4, 0.7, 1.0] };
const seed33 = {
  input: [[1, 2, 3], [4, 5, 6], [7, 8, 9]],
  target: [[1, 0, 0], [2, 5, 3], [4, 7, 10]],
};
const none33 = mseLoss(seed33.input, seed33.target, { reduction: "none" });
console.log(
  "RESULT " +
    JSON.stringify({
      runtime: "node-esm",
      backend: backend(),
      mean4: mseLoss(seed4.input, seed4.target),
      sum4: mseLoss(seed4.input, seed4.target, { reduction: "sum" }),
      mean33: mseLoss(seed33.input, seed33.target, { reduction: "mean" }),
      sum33: mseLoss(seed33.input, seed33.target, { reduction: "sum" }),
      none33: { data: Array.from(none33.data), shape: none33.shape, dtype: none33.data.constructor.name },
      resolved: import.meta.resolve("mse-wasm"),
    }),
);
