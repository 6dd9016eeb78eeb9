// Web Worker entry for test/helpers/instance.ts: a module instance of its own (a worker
// has its own module graph), driven by messages. Browser runs only.
import * as lib from "../../ts/index.js";
import { runCall, type Call } from "./calls.js";

type Request =
  | { id: number; op: "init"; options?: { simd?: boolean } }
  | { id: number; op: "backend" }
  | { id: number; op: "run"; calls: Call[] };

const scope = globalThis as unknown as {
  addEventListener(type: "message", listener: (ev: { data: Request }) => void): void;
  postMessage(message: unknown): void;
};

scope.addEventListener("message", (ev) => {
  const req = ev.data;
  const reply = (body: Record<string, unknown>): void => scope.postMessage({ id: req.id, ...body });
  switch (req.op) {
    case "init":
      lib.init(req.options).then(
        () => reply({ ok: true }),
        (e: unknown) => reply({ error: String((e as Error)?.message ?? e) }),
      );
      break;
    case "backend":
      try {
        reply({ value: lib.backend() });
      } catch (e) {
        reply({ error: String((e as Error)?.message ?? e) });
      }
      break;
    case "run":
      reply({ value: req.calls.map((c) => runCall(lib, c)) });
      break;
  }
});
