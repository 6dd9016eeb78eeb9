// Runs work in a fresh Web Worker (test/browser/mse.worker.ts): a second, independent
// module instance in browsers, where vi.resetModules cannot make one in the page.
// Imported by shared suites; only called where `Worker` exists.

export function runInWorker(message: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./mse.worker.ts", import.meta.url), { type: "module" });
    worker.onmessage = (event: MessageEvent<{ error?: string }>) => {
      worker.terminate();
      if (event.data && typeof event.data.error === "string") reject(new Error(`in the worker: ${event.data.error}`));
      else resolve(event.data);
    };
    worker.onerror = (event) => {
      worker.terminate();
      reject(new Error(`worker error: ${event.message}`));
    };
    worker.postMessage(message);
  });
}
