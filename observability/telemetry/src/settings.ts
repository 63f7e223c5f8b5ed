import { z } from "zod";

/**
 * The telemetry settings: the standard `OTEL_*` variables (read by the SDK itself) plus the few
 * Conveyor adds. Parsed once, at start.
 */
export const TelemetrySettings = z.object({
  OTEL_SDK_DISABLED: z
    .enum(["true", "false", ""])
    .default("false")
    .transform((value) => value === "true"),
  OTEL_SERVICE_NAME: z.string().min(1).default("conveyor"),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().default("http://localhost:4318"),
  NODE_ENV: z.string().default("development"),
  /** Where to export metrics: OTLP (pushed), the Prometheus `/metrics` endpoint, or both. */
  OTEL_METRICS_EXPORTER: z.string().default("otlp,prometheus"),
  /** How often metrics are pushed over OTLP. */
  OTEL_METRIC_EXPORT_INTERVAL: z.coerce.number().int().positive().default(10_000),
  /** Longest a stopping process waits to flush telemetry. */
  OTEL_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(2_000),
});
export type TelemetrySettings = z.infer<typeof TelemetrySettings>;
