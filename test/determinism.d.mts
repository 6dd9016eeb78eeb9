// Types of test/determinism.mjs (plain JavaScript so that scripts/gen_digest.mjs, the
// workers and Deno load it without a TypeScript step).

export interface DigestOperand {
  dtype: "float32" | "float64";
  shape: number[];
  values: number[];
  form: "tensor" | "nested";
}

export interface DigestCase {
  fn: "mseLoss" | "mseLossBackward" | "mseLossWithGrad" | "metric";
  input: DigestOperand;
  target: DigestOperand;
  weight?: DigestOperand;
  gradOutput?: number | DigestOperand;
  options: Record<string, unknown>;
}

export interface Digest {
  cases: number;
  sha256: string;
  groups: string[];
}

/** The part of the library the cases call (the module namespace of mse-wasm). */
export interface DigestLibrary {
  mseLoss(...args: never[]): unknown;
  mseLossBackward(...args: never[]): unknown;
  mseLossWithGrad(...args: never[]): unknown;
  MeanSquaredError: new (...args: never[]) => { update(...args: never[]): unknown; compute(): number };
}

export function prng(seed: number): () => number;
export function seedCases(): DigestCase[];
export function propertyCases(count?: number, seed?: number): DigestCase[];
export function columnCases(seed?: number): DigestCase[];
export function allCases(): DigestCase[];
export function toArgument(o: DigestOperand): unknown;
export function runCase(lib: DigestLibrary, c: DigestCase): unknown;
export function encodeResult(r: unknown): Uint8Array;
export function encodedResults(lib: DigestLibrary, cases?: DigestCase[]): Uint8Array[];
export function differingCases(a: Uint8Array[], b: Uint8Array[]): number[];
export const GROUP: number;
export function digestOf(lib: DigestLibrary, cases?: DigestCase[]): Promise<Digest>;
export function digestOfEncoded(encoded: Uint8Array[]): Promise<Digest>;
