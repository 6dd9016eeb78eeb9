// `npm run demo`: bundle the demo page with Vite (JS API, no plug-ins, offline) and
// serve the bundle from a tiny static server on 127.0.0.1.
//
//   node demo/serve.mjs [--port N]      (or env PORT; default 5173, next free port if taken)
//
// The server sends a strict Content-Security-Policy (script-src 'self' 'wasm-unsafe-eval'),
// so the page also shows that mse-wasm runs under a CSP without 'unsafe-eval'.
// Other scripts (the browser test) import startDemoServer() from here.

import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const demoDir = path.dirname(fileURLToPath(import.meta.url));
/** Build output; `dist/` is gitignored at any depth. */
export const outDir = path.join(demoDir, "dist");

const CONTENT_TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".map": "application/json",
};

const SECURITY_HEADERS = {
  "Content-Security-Policy":
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; " +
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Cache-Control": "no-store",
};

/** Bundle demo/index.html and demo/main.ts (which imports the built library) into demo/dist. */
export async function buildDemo({ quiet = false } = {}) {
  const { build } = await import("vite");
  await build({
    root: demoDir,
    base: "./",
    configFile: false,
    envDir: false,
    publicDir: false,
    logLevel: quiet ? "silent" : "warn",
    clearScreen: false,
    build: { outDir, emptyOutDir: true, target: "es2022", reportCompressedSize: false },
  });
}

async function handle(request, response) {
  const url = new URL(request.url ?? "/", "http://localhost");
  if (request.method !== "GET" && request.method !== "HEAD") {
    response.writeHead(405, { Allow: "GET, HEAD" }).end();
    return;
  }
  let relative;
  try {
    relative = decodeURIComponent(url.pathname);
  } catch {
    response.writeHead(400).end();
    return;
  }
  if (relative.endsWith("/")) relative += "index.html";
  const file = path.resolve(outDir, `.${relative}`);
  if (file !== outDir && !file.startsWith(outDir + path.sep)) {
    response.writeHead(403).end();
    return;
  }
  try {
    const body = await readFile(file);
    response.writeHead(200, {
      "Content-Type": CONTENT_TYPES[path.extname(file)] ?? "application/octet-stream",
      "Content-Length": body.length,
      ...SECURITY_HEADERS,
    });
    response.end(request.method === "HEAD" ? undefined : body);
  } catch {
    response.writeHead(404, { "Content-Type": "text/plain; charset=utf-8", ...SECURITY_HEADERS }).end("not found\n");
  }
}

function listen(server, port, host) {
  return new Promise((resolve, reject) => {
    const onError = (error) => {
      server.off("listening", onListening);
      reject(error);
    };
    const onListening = () => {
      server.off("error", onError);
      resolve(server.address().port);
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, host);
  });
}

/**
 * Build the page (unless `build: false`) and serve it on `host:port`.
 * `port: 0` picks a free port; with `strictPort: false` a taken port moves to the next one.
 * Resolves to `{ url, close() }`.
 */
export async function startDemoServer({ port = 5173, host = "127.0.0.1", strictPort = false, build = true, quiet = false } = {}) {
  if (build) await buildDemo({ quiet });
  const server = createServer((request, response) => {
    handle(request, response).catch(() => {
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });
  let bound;
  for (let attempt = 0; ; attempt++) {
    try {
      bound = await listen(server, port === 0 ? 0 : port + attempt, host);
      break;
    } catch (error) {
      if (error.code !== "EADDRINUSE" || strictPort || port === 0 || attempt >= 20) throw error;
    }
  }
  return {
    url: `http://${host}:${bound}/`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

function parsePort(argv) {
  const index = argv.indexOf("--port");
  const raw = index >= 0 ? argv[index + 1] : process.env.PORT;
  if (raw === undefined || raw === "") return { port: 5173, strictPort: false };
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`demo/serve.mjs: --port must be an integer 0..65535, got ${JSON.stringify(raw)}`);
  }
  return { port, strictPort: true };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { port, strictPort } = parsePort(process.argv.slice(2));
  const { url, close } = await startDemoServer({ port, strictPort });
  console.log(`mse-wasm demo: ${url}`);
  console.log("Fits a polynomial to noisy points in your browser with mseLossWithGrad. Ctrl+C stops the server.");
  const stop = () => close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
