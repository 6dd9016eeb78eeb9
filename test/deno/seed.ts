// The API.md seed cases from test/fixtures/forward.json (real PyTorch), shared by the Deno
// tests. A static import: Deno loads it without any permission.
import forward from "../fixtures/forward.json" with { type: "json" };

export type Dtype = "float32" | "float64";
export interface FixtureTensor {
  dtype: Dtype;
  shape: number[];
  data: number[];
}
export interface SeedCase {
  name: string;
  input: FixtureTensor;
  target: FixtureTensor;
  results: {
    mean: { value: number; value64: number };
    sum: { value: number; value64: number };
    none: FixtureTensor;
  };
}

export function seed(name: string): SeedCase {
  const c = (forward.cases as unknown as SeedCase[]).find((x) => x.name === name);
  if (!c) throw new Error(`test/fixtures/forward.json has no case "${name}"`);
  return c;
}

export function fail(msg: string): never {
  throw new Error(msg);
}
