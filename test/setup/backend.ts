// setupFiles entry of the node-scalar project: runs before every test file, in the same
// module graph, so the library instance the file imports is already on the scalar build.
import { init, backend } from "../../ts/index.js";

if (process.env.MSE_WASM_BACKEND === "scalar") {
  await init({ simd: false });
  const got = backend();
  if (got !== "scalar") {
    throw new Error(`test/setup/backend.ts: MSE_WASM_BACKEND=scalar but backend() is "${got}" after init({ simd: false })`);
  }
}
