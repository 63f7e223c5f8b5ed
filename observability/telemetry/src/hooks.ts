import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * What the telemetry bootstrap offers the app it was loaded into. The bootstrap runs before the
 * app (`node --import`), so it leaves these on a well-known global instead of being imported:
 * an app started without telemetry simply finds nothing.
 */
export interface TelemetryHooks {
  /** Serves the Prometheus text format (for a `/metrics` route). */
  metricsHandler?: (request: IncomingMessage, response: ServerResponse) => void;
  /** Flushes and stops telemetry; call it last on shutdown, or the final spans are lost. */
  shutdown(): Promise<void>;
}

const KEY = Symbol.for("conveyor.telemetry");

/** Publishes the hooks (from the bootstrap). */
export function setTelemetryHooks(hooks: TelemetryHooks): void {
  (globalThis as Record<symbol, unknown>)[KEY] = hooks;
}

/** The hooks of the telemetry bootstrap, if one was loaded. */
export function getTelemetryHooks(): TelemetryHooks | undefined {
  return (globalThis as Record<symbol, TelemetryHooks | undefined>)[KEY];
}
