// Cross-runtime determinism: the digest of the seed examples and the generated cases
// must equal the one recorded in Node (test/fixtures/digest.json, scripts/gen_digest.mjs).
import * as lib from "../../dist/esm/index.js";
// @deno-types="../determinism.d.mts"
import { digestOf } from "../determinism.mjs";
import recorded from "../fixtures/digest.json" with { type: "json" };

Deno.test("results of the digest cases match test/fixtures/digest.json (recorded in Node)", async () => {
  await lib.init();
  const got = await digestOf(lib);
  const differing = got.groups.flatMap((g: string, i: number) => (g === recorded.groups[i] ? [] : [i]));
  if (got.cases !== recorded.cases || got.sha256 !== recorded.sha256) {
    throw new Error(
      `digest ${got.sha256} != recorded ${recorded.sha256} (${lib.backend()}); differing groups: ${differing.join(", ")}`,
    );
  }
});
