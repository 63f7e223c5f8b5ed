import { spawn } from "node:child_process";
import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize, sep } from "node:path";

const root = join(import.meta.dirname, "..", "..");
/** The dashboard's workspace and its build output. */
export const WEB_DIR = join(root, "web");
export const DIST_DIR = join(WEB_DIR, "dist");

async function newestMtimeMs(path: string): Promise<number> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return 0;
  if (!info.isDirectory()) return info.mtimeMs;
  const entries = await readdir(path);
  const times = await Promise.all(entries.map((entry) => newestMtimeMs(join(path, entry))));
  return Math.max(info.mtimeMs, ...times);
}

/**
 * Builds the dashboard into web/dist unless a build newer than every source file is there
 * already (CI always starts from a fresh clone, so it builds once).
 */
export async function buildDashboardOnce(): Promise<void> {
  const sources = [
    join(WEB_DIR, "src"),
    join(WEB_DIR, "public"),
    join(WEB_DIR, "index.html"),
    join(WEB_DIR, "vite.config.ts"),
  ];
  const [built, ...sourceTimes] = await Promise.all([
    stat(join(DIST_DIR, "index.html")).then(
      (info) => info.mtimeMs,
      () => 0,
    ),
    ...sources.map(newestMtimeMs),
  ]);
  if (built > Math.max(...sourceTimes)) return;
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, "node_modules/vite/bin/vite.js"), "build"], {
      cwd: WEB_DIR,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`vite build failed (${code}):\n${output}`)),
    );
  });
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
  ".map": "application/json",
};

/** A running dashboard server. */
export interface DashboardServer {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves web/dist at `/` (unknown paths get index.html) and proxies `/graphql` and everything
 * under it to the gateway, streaming responses through unbuffered (subscriptions are SSE).
 * Stands in for the gateway serving the dashboard itself, the way `vite preview` would.
 */
export async function serveDashboard(options: { gatewayUrl: string }): Promise<DashboardServer> {
  const gateway = new URL(options.gatewayUrl);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname === "/graphql" || url.pathname.startsWith("/graphql/")) {
      const upstream = request(
        {
          hostname: gateway.hostname,
          port: gateway.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: gateway.host },
        },
        (response) => {
          res.writeHead(response.statusCode ?? 502, response.headers);
          res.flushHeaders();
          response.pipe(res);
          // A gateway that dies mid-stream must cut the browser's stream too, or the browser
          // waits on it forever instead of reconnecting.
          response.on("close", () => {
            if (!response.complete) res.destroy();
          });
        },
      );
      upstream.on("error", () => {
        if (!res.headersSent) res.writeHead(502).end("gateway unavailable");
        else res.destroy();
      });
      res.on("close", () => upstream.destroy());
      req.pipe(upstream);
      return;
    }
    const relative = normalize(decodeURIComponent(url.pathname)).replace(/^([/\\])+/, "");
    let file = join(DIST_DIR, relative);
    if (!file.startsWith(DIST_DIR + sep) && file !== DIST_DIR) {
      res.writeHead(403).end();
      return;
    }
    stat(file)
      .then((info) => (info.isFile() ? file : join(DIST_DIR, "index.html")))
      .catch(() => join(DIST_DIR, "index.html"))
      .then((path) => {
        file = path;
        res.writeHead(200, {
          "content-type": CONTENT_TYPES[extname(file)] ?? "application/octet-stream",
        });
        createReadStream(file).pipe(res);
      });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
