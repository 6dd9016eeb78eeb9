// Warnings in PyTorch's words, each distinct message once per module instance, so a
// training loop that repeats the same mistake is not flooded.

const seen = new Set<string>();

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
  if (seen.has(message)) return;
  seen.add(message);
  const proc = nodeProcess();
  if (proc !== null) {
    proc.emitWarning(message);
  } else if (typeof console !== "undefined" && typeof console.warn === "function") {
    console.warn(message);
  }
}
