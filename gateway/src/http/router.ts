import { existsSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { getTelemetryHooks } from "@conveyor/telemetry";
import type { Logger } from "pino";
import sirv from "sirv";
import { batchEventStreamWrites } from "./batched-writes.ts";
import { applyHeaders } from "./security-headers.ts";
import { boundEventStream } from "./sse-output-limit.ts";

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/** Options of {@link createHttpRouter}. */
export interface HttpRouterOptions {
  /** Yoga: `/graphql`, `/graphql/stream`, `/healthz`, `/readyz`. */
  graphql: Handler;
  /** The built dashboard (`web/dist`); served at `/` when it exists. */
  webDistDir: string;
  /** Headers every response carries (security headers). */
  headers: Record<string, string>;
  /**
   * Bounds of graphql-sse event streams (see {@link boundEventStream}); `maxBufferedBytes` 0
   * leaves them unbounded.
   */
  eventStreams: { maxBufferedBytes: number; stallTimeoutMs: number };
  logger: Logger;
}

const GRAPHQL_PATHS = /^\/(graphql|healthz|readyz)(\/|\?|$)/;

/**
 * The gateway's one port: GraphQL and health go to Yoga, `/metrics` to Prometheus (when
 * telemetry is on), and everything else to the dashboard's static files, with `index.html` for
 * client-side routes. Hashed assets are cached for good; `index.html` never is. Every response
 * carries the security headers; event streams are bounded for clients that stop reading,
 * and the frames an event stream is written in one turn share a socket write.
 */
export function createHttpRouter(options: HttpRouterOptions): Handler {
  const hasDashboard = existsSync(options.webDistDir);
  if (!hasDashboard) {
    options.logger.warn(
      { webDistDir: options.webDistDir },
      "no built dashboard; run npm run build -w @conveyor/web to serve it at /",
    );
  }
  const dashboard = hasDashboard
    ? sirv(options.webDistDir, {
        single: true,
        etag: true,
        setHeaders: (response, pathname) => {
          const isAsset = pathname.startsWith("/assets/");
          response.setHeader(
            "cache-control",
            isAsset ? "public, max-age=31536000, immutable" : "no-cache",
          );
        },
      })
    : undefined;
  return (request, response) => {
    const path = request.url ?? "/";
    applyHeaders(response, options.headers);
    if (GRAPHQL_PATHS.test(path)) {
      if (options.eventStreams.maxBufferedBytes > 0) {
        boundEventStream(response, {
          ...options.eventStreams,
          onStalled: (bufferedBytes) =>
            options.logger.warn(
              { client: request.socket.remoteAddress, bufferedBytes },
              "closed an event stream whose client stopped reading",
            ),
        });
      }
      batchEventStreamWrites(response);
      return options.graphql(request, response);
    }
    const metricsHandler = getTelemetryHooks()?.metricsHandler;
    if (path.startsWith("/metrics") && metricsHandler) return metricsHandler(request, response);
    if (dashboard && (request.method === "GET" || request.method === "HEAD")) {
      return dashboard(request, response, () => options.graphql(request, response));
    }
    return options.graphql(request, response);
  };
}
