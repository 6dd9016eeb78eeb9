// Runs a wasm32-wasi test binary (a cargo test harness) in Node's WASI with no file
// system access; exits with its exit code. Used by scripts/test.mjs (stage rust-wasm).
//   node scripts/lib/run-wasi.mjs <file.wasm> [test args...]
import fs from "node:fs";
import { WASI } from "node:wasi";

const [file, ...args] = process.argv.slice(2);
const wasi = new WASI({ version: "preview1", args: ["test", ...args], env: { RUST_BACKTRACE: "0" }, returnOnExit: true });
const module = await WebAssembly.compile(fs.readFileSync(file));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
