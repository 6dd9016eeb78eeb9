// Packed-package check: a page bundled by Vite from the installed tarball. Writes
// `RESULT <json>` (or `ERROR ...`) into #result for the Playwright driver to read.
import { init, backend, mseLoss } from "mse-wasm";

const out = document.getElementById("result");
try {
  await init();
  const seed4 = { input: [0.9, 0.2, 0.8, 0.5], target: [1.0, 0.4, 0.7, 1.0] };
  const seed33 = {
    input: [[1, 2, 3], [4, 5, 6], [7, 8, 9]],
    target: [[1, 0, 0], [2, 5, 3], [4, 7, 10]],
  };
  const none33 = mseLoss(seed33.input, seed33.target, { reduction: "none" });
  out.textContent =
    "RESULT " +
    JSON.stringify({
      runtime: "vite-chromium",
      backend: backend(),
      mean4: mseLoss(seed4.input, seed4.target),
      sum4: mseLoss(seed4.input, seed4.target, { reduction: "sum" }),
      mean33: mseLoss(seed33.input, seed33.target, { reduction: "mean" }),
      sum33: mseLoss(seed33.input, seed33.target, { reduction: "sum" }),
      none33: { data: Array.from(none33.data), shape: none33.shape, dtype: none33.data.constructor.name },
    });
} catch (e) {
  out.textContent = "ERROR " + (e && e.stack ? e.stack : String(e));
}
