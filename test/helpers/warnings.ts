// Captures the library's warnings in every runtime: Node's process.emitWarning (the
// channel API.md prescribes there) and console.warn (browsers), reached through
// globalThis so that the suites import no node: module.
import { afterAll, beforeAll, vi } from "vitest";

export type Channel = "emitWarning" | "console.warn";

export interface CapturedWarning {
  channel: Channel;
  message: string;
}

export interface WarningCapture {
  /** Every message captured since the capture started (`take()` does not clear it). */
  readonly messages: string[];
  /** Everything captured since the last `take()`, then cleared. */
  take(): CapturedWarning[];
  restore(): void;
}

interface MaybeProcess {
  emitWarning?: (...args: unknown[]) => void;
  versions?: { node?: string };
}

function nodeProcess(): MaybeProcess | undefined {
  const proc = (globalThis as { process?: MaybeProcess }).process;
  return proc !== undefined && proc !== null && typeof proc.emitWarning === "function" ? proc : undefined;
}

/** The channel API.md prescribes in this runtime. */
export function expectedChannel(): Channel {
  return nodeProcess() !== undefined ? "emitWarning" : "console.warn";
}

function text(arg: unknown): string {
  if (typeof arg === "string") return arg;
  if (arg instanceof Error) return arg.message;
  return String(arg);
}

/** Starts capturing (and silencing) warnings; call `restore()` when done. */
export function captureWarnings(): WarningCapture {
  let captured: CapturedWarning[] = [];
  const messages: string[] = [];
  const record = (w: CapturedWarning): void => {
    captured.push(w);
    messages.push(w.message);
  };
  const restores: Array<() => void> = [];
  const proc = nodeProcess();
  if (proc !== undefined) {
    const spy = vi
      .spyOn(proc as { emitWarning: (...args: unknown[]) => void }, "emitWarning")
      .mockImplementation((...args: unknown[]) => {
        record({ channel: "emitWarning", message: text(args[0]) });
      });
    restores.push(() => spy.mockRestore());
  }
  const spy = vi.spyOn(console, "warn").mockImplementation((...args: unknown[]) => {
    record({ channel: "console.warn", message: args.map(text).join(" ") });
  });
  restores.push(() => spy.mockRestore());
  return {
    messages,
    take(): CapturedWarning[] {
      const out = captured;
      captured = [];
      return out;
    },
    restore(): void {
      for (const r of restores) r();
    },
  };
}

/**
 * For a suite whose calls warn (broadcasting) but that does not check the texts
 * (forward.test.ts does): captures and silences warnings from its `beforeAll` to its
 * `afterAll`.
 */
export function silenceWarningsInSuite(): void {
  let warnings: WarningCapture | undefined;
  beforeAll(() => {
    warnings = captureWarnings();
  });
  afterAll(() => warnings?.restore());
}
