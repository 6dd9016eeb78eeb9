// Warnings in PyTorch's words, each distinct message once per process (per JS realm: a
// worker is its own), so a training loop that repeats the same mistake is not flooded.

/**
 * The messages shown so far, kept on `globalThis` under a registered symbol: every copy of
 * this module in the realm (the ESM and the CommonJS entry, a bundled copy, a re-import)
 * shares the one set, so "once" holds for the process and not per copy.
 */
const SEEN = Symbol.for("mse-wasm.warnings-shown");

/** This copy's own set, where `globalThis` takes no new property (frozen, e.g. SES lockdown). */
let local: Set<string> | null = null;

function seenMessages(): Set<string> {
  const holder = globalThis as { [SEEN]?: unknown };
  const existing = holder[SEEN];
  if (existing instanceof Set) return existing as Set<string>;
  if (local !== null) return local;
  const created = new Set<string>();
  try {
    Object.defineProperty(globalThis, SEEN, { value: created, configurable: true, enumerable: false, writable: false });
  } catch {
    // A warning must never make the call that raised it fail: once per copy instead.
    local = created;
  }
  return created;
}

interface WarningProcess {
  emitWarning(message: string): void;
}

function nodeProcess(): WarningProcess | null {
  // Reached through globalThis: no `process` binding exists in browsers, and the
  // package is typed without Node's globals.
  const proc = (globalThis as { process?: { emitWarning?: unknown } }).process;
  if (proc !== undefined && proc !== null && typeof proc.emitWarning === "function") {
    return proc as WarningProcess;
  }
  return null;
}

/**
 * Emits `message` once: Node (and Deno's Node layer) through `process.emitWarning`,
 * elsewhere through `console.warn`. The message is the only argument in both cases.
 */
export function warnOnce(message: string): void {
  const seen = seenMessages();
  if (seen.has(message)) return;
  seen.add(message);
  const proc = nodeProcess();
  if (proc !== null) {
    proc.emitWarning(message);
  } else if (typeof console !== "undefined" && typeof console.warn === "function") {
    console.warn(message);
  }
}
