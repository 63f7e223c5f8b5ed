import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { getTelemetryHooks } from "@conveyor/telemetry";

/** The answer of a readiness check: ready or not, with details for a person reading it. */
export interface Readiness {
  isReady: boolean;
  details: Record<string, unknown>;
}

/** Options of {@link createHealthServer}. */
export interface HealthServerOptions {
  /** Port to listen on; 0 picks a free one. */
  port: number;
  host?: string;
  /** Whether the process can serve (Redis reachable, groups present). */
  checkReadiness: () => Promise<Readiness>;
}

/**
 * A small HTTP server for container health checks, `/healthz` (alive) and `/readyz` (ready),
 * and for Prometheus, `/metrics` (when telemetry is on).
 */
export interface HealthServer {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The port it listens on (after start). */
  readonly port: number;
}

/** Serves `/healthz` and `/readyz` on their own port, apart from any public API. */
export function createHealthServer(options: HealthServerOptions): HealthServer {
  let server: Server | undefined;
  let stopping: Promise<void> | undefined;

  const send = (res: import("node:http").ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
    res.end(JSON.stringify(body));
  };

  return {
    get port() {
      return (server?.address() as AddressInfo | null)?.port ?? 0;
    },
    async start() {
      server = createServer((req, res) => {
        const path = req.url?.split("?")[0];
        if (path === "/healthz") return send(res, 200, { status: "ok" });
        const metricsHandler = getTelemetryHooks()?.metricsHandler;
        if (path === "/metrics" && metricsHandler) return metricsHandler(req, res);
        if (path === "/readyz") {
          options
            .checkReadiness()
            .then((readiness) =>
              send(res, readiness.isReady ? 200 : 503, {
                status: readiness.isReady ? "ready" : "not ready",
                ...readiness.details,
              }),
            )
            .catch((error: unknown) =>
              send(res, 503, { status: "not ready", error: String(error) }),
            );
          return;
        }
        send(res, 404, { error: "not found" });
      });
      const listening = server;
      await new Promise<void>((resolve, reject) => {
        listening.once("error", reject);
        listening.listen(options.port, options.host ?? "0.0.0.0", () => resolve());
      });
    },
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        if (!server) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopping;
    },
  };
}
