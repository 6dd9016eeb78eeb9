// Web Worker entry for test/helpers/instance.ts: a module instance of its own (a worker
// has its own module graph), driven by messages. Browser runs only.
import * as lib from "../../ts/index.js";
import type { Case } from "../cases.js";
import { digestResults, propertyResults } from "./batches.js";
import { runCall, type Call } from "./calls.js";
import { countInstantiations } from "./instantiations.mjs";

type Request =
  | { id: number; op: "init"; options?: { simd?: boolean } }
  | { id: number; op: "initConcurrently"; count: number; options?: { simd?: boolean } }
  | { id: number; op: "backend" }
  | { id: number; op: "run"; calls: Call[] }
  | { id: number; op: "digest" }
  | { id: number; op: "property"; cases: Case[] };

const scope = globalThis as unknown as {
  addEventListener(type: "message", listener: (ev: { data: Request }) => void): void;
  postMessage(message: unknown): void;
};

// The cases' warnings are expected; console.warn is where a browser sends them.
console.warn = () => {};

scope.addEventListener("message", (ev) => {
  const req = ev.data;
  const reply = (body: Record<string, unknown>): void => scope.postMessage({ id: req.id, ...body });
  const fail = (e: unknown): void => reply({ error: String((e as Error)?.message ?? e) });
  try {
    switch (req.op) {
      case "init":
        lib.init(req.options).then(() => reply({ ok: true }), fail);
        break;
      case "initConcurrently":
        countInstantiations(() => Array.from({ length: req.count }, (_, k) => lib.init(k === 0 ? req.options : undefined))).then(
          (value) => reply({ value }),
          fail,
        );
        break;
      case "backend":
        reply({ value: lib.backend() });
        break;
      case "run":
        reply({ value: req.calls.map((c) => runCall(lib, c)) });
        break;
      case "digest":
        reply({ value: digestResults(lib) });
        break;
      case "property":
        reply({ value: propertyResults(lib, req.cases) });
        break;
    }
  } catch (e) {
    fail(e);
  }
});
