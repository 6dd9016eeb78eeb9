// Loading: one memoised init promise per module instance, a SIMD128 probe, instantiation
// from the inlined base64 bytes (or the caller's module/bytes), and initSync.
import { describe } from "./errors.js";
import { Heap, activeHeap, bindExports, requireHeap, setActiveHeap } from "./heap.js";
import { SCALAR_WASM_BASE64 } from "./wasm/scalar.js";
import { SIMD_WASM_BASE64 } from "./wasm/simd.js";

/** Which build runs: `"simd"` (SIMD128) or `"scalar"`. Both give identical results. */
export type Backend = "simd" | "scalar";

/** Options of `init` / `initSync`; give at most one of `module` and `bytes`. */
export interface InitOptions {
  /**
   * `false` forces the scalar build; `true` demands the SIMD build (an error where the
   * engine has no SIMD128). Default: SIMD where the engine supports it.
   */
  simd?: boolean;
  /** A compiled mse-wasm module (either build), e.g. from a bundler's `.wasm` import. */
  module?: WebAssembly.Module;
  /** The bytes of an mse-wasm `.wasm` file (either build). */
  bytes?: BufferSource;
}

/** Memory statistics of the loaded module (a leak meter for tests). */
export interface HeapStats {
  /** Bytes currently allocated through the module's allocator (includes the persistent scratch). */
  allocatedBytes: number;
  /** Size of the WebAssembly memory in bytes. */
  memoryBytes: number;
}

type Request =
  | { readonly kind: "builtin"; readonly simd: boolean | undefined }
  | { readonly kind: "module"; readonly module: WebAssembly.Module }
  | { readonly kind: "bytes"; readonly bytes: BufferSource };

/**
 * A minimal module whose one function uses v128 (i8x16.splat, i8x16.popcnt) and
 * memory.fill: it validates exactly where SIMD128 and bulk memory (which the SIMD build
 * also uses; every engine with SIMD128 has it) are supported.
 */
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 5, 3, 1, 0, 1, 10, 19, 1, 17, 0, 65, 0, 65, 0, 65,
  0, 252, 11, 0, 65, 0, 253, 15, 253, 98, 11,
]);

let simdSupport: boolean | undefined;

function simdSupported(): boolean {
  if (simdSupport === undefined) {
    try {
      simdSupport = WebAssembly.validate(SIMD_PROBE);
    } catch {
      simdSupport = false;
    }
  }
  return simdSupport;
}

let initPromise: Promise<void> | null = null;

function isBufferSource(value: unknown): value is BufferSource {
  return (
    value instanceof ArrayBuffer ||
    ArrayBuffer.isView(value) ||
    (typeof SharedArrayBuffer === "function" && value instanceof SharedArrayBuffer)
  );
}

function parseOptions(fn: string, options: unknown): Request {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(`${fn}: argument 'options' must be an object (got ${describe(options)})`);
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (key !== "simd" && key !== "module" && key !== "bytes") {
      throw new TypeError(`${fn}: unknown option ${JSON.stringify(key)} (expected simd, module, bytes)`);
    }
  }
  const { simd, module, bytes } = o;
  if (simd !== undefined && typeof simd !== "boolean") {
    throw new TypeError(`${fn}: option 'simd' must be a boolean (got ${describe(simd)})`);
  }
  if (module !== undefined && !(module instanceof WebAssembly.Module)) {
    throw new TypeError(`${fn}: option 'module' must be a WebAssembly.Module (got ${describe(module)})`);
  }
  if (bytes !== undefined && !isBufferSource(bytes)) {
    throw new TypeError(`${fn}: option 'bytes' must be an ArrayBuffer or a typed array (got ${describe(bytes)})`);
  }
  const given = Number(simd !== undefined) + Number(module !== undefined) + Number(bytes !== undefined);
  if (given > 1) {
    throw new TypeError(`${fn}: give at most one of the options 'simd', 'module' and 'bytes'`);
  }
  if (module !== undefined) return { kind: "module", module: module as WebAssembly.Module };
  if (bytes !== undefined) return { kind: "bytes", bytes: bytes as BufferSource };
  return { kind: "builtin", simd: simd as boolean | undefined };
}

function decodeBase64(base64: string): Uint8Array<ArrayBuffer> {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** The inlined bytes of the build to use for a builtin request. */
function builtinBytes(fn: string, simd: boolean | undefined): Uint8Array<ArrayBuffer> {
  const supported = simdSupported();
  if (simd === true && !supported) {
    throw new Error(`${fn}: the SIMD build was requested ({ simd: true }) but this engine has no WebAssembly SIMD128`);
  }
  const useSimd = simd ?? supported;
  const base64 = useSimd ? SIMD_WASM_BASE64 : SCALAR_WASM_BASE64;
  if (base64.length === 0) {
    throw new Error(`${fn}: the ${useSimd ? "SIMD" : "scalar"} build is missing from this package (run the build)`);
  }
  return decodeBase64(base64);
}

function install(fn: string, instance: WebAssembly.Instance): void {
  setActiveHeap(new Heap(bindExports(fn, instance)));
}

function backendOf(heap: Heap): Backend {
  return heap.simd ? "simd" : "scalar";
}

/** Options after the module is loaded: fine if they ask for what runs, else an Error. */
function checkCompatible(fn: string, req: Request): void {
  const heap = requireHeap(fn);
  if (req.kind === "builtin") {
    if (req.simd === undefined || req.simd === heap.simd) return;
    throw new Error(
      `${fn}: mse-wasm is already initialised with the ${backendOf(heap)} build; ` +
        `{ simd: ${req.simd} } only applies to the first init of a module instance`,
    );
  }
  throw new Error(
    `${fn}: mse-wasm is already initialised with the ${backendOf(heap)} build; ` +
      `{ ${req.kind} } only applies to the first init of a module instance`,
  );
}

/** What a failed load throws: our own errors (they start with `fn:`) as they are, the engine's wrapped. */
function loadError(fn: string, error: unknown): Error {
  if (error instanceof Error && error.message.startsWith(`${fn}:`)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new Error(`${fn}: could not instantiate the WebAssembly module: ${message}`, { cause: error });
}

/** The request of a call without options: the inlined build, SIMD where supported. */
const DEFAULT_REQUEST: Request = { kind: "builtin", simd: undefined };

async function load(req: Request | null): Promise<void> {
  const r = req ?? DEFAULT_REQUEST;
  let instance: WebAssembly.Instance;
  try {
    if (r.kind === "module") {
      instance = await WebAssembly.instantiate(r.module, {});
    } else {
      const bytes: BufferSource = r.kind === "bytes" ? r.bytes : builtinBytes("init", r.simd);
      const source: WebAssembly.WebAssemblyInstantiatedSource = await WebAssembly.instantiate(bytes, {});
      instance = source.instance;
    }
  } catch (error) {
    throw loadError("init", error);
  }
  if (activeHeap() !== null) {
    // initSync finished first: keep its instance, and honour this call's options.
    if (req !== null) checkCompatible("init", req);
    return;
  }
  install("init", instance);
}

/**
 * Loads the WebAssembly module; resolves once the API is usable. Idempotent: later
 * calls without options return the same promise. `{ simd: false }` forces the scalar
 * build, `{ module }` / `{ bytes }` load a given build; these apply to the first call
 * of a module instance (a later call asking for something else rejects).
 */
export function init(options?: InitOptions): Promise<void> {
  let req: Request | null;
  try {
    req = options === undefined ? null : parseOptions("init", options);
  } catch (error) {
    return Promise.reject(error);
  }
  if (initPromise !== null) {
    if (req === null) return initPromise;
    const r = req;
    return initPromise.then(() => checkCompatible("init", r));
  }
  const promise = load(req);
  initPromise = promise;
  promise.catch(() => {
    // A failed load can be retried (e.g. with other options).
    if (initPromise === promise) initPromise = null;
  });
  return promise;
}

/**
 * Loads the module synchronously (no argument: the inlined build, SIMD where
 * supported). Accepts the bytes of a build, a compiled `WebAssembly.Module`, or the
 * options of `init`. A no-op when already loaded with compatible options.
 */
export function initSync(source?: BufferSource | WebAssembly.Module | InitOptions): void {
  const fn = "initSync";
  let req: Request | null;
  if (source === undefined) req = null;
  else if (source instanceof WebAssembly.Module) req = { kind: "module", module: source };
  else if (isBufferSource(source)) req = { kind: "bytes", bytes: source };
  else req = parseOptions(fn, source);
  if (activeHeap() !== null) {
    if (req !== null) checkCompatible(fn, req);
    return;
  }
  const r = req ?? DEFAULT_REQUEST;
  let instance: WebAssembly.Instance;
  try {
    const module =
      r.kind === "module" ? r.module : new WebAssembly.Module(r.kind === "bytes" ? r.bytes : builtinBytes(fn, r.simd));
    instance = new WebAssembly.Instance(module, {});
  } catch (error) {
    throw loadError(fn, error);
  }
  install(fn, instance);
  if (initPromise === null) initPromise = Promise.resolve();
}

/** Which build is running: `"simd"` or `"scalar"`. */
export function backend(): Backend {
  return backendOf(requireHeap("backend"));
}

/** Bytes allocated in the module (including its persistent scratch) and its memory size. */
export function heapStats(): HeapStats {
  return requireHeap("heapStats").stats();
}
