import { z } from "zod";

/** A comma-separated list of names, trimmed, without empties: `otlp, prometheus`. */
const nameList = z.string().transform((value) =>
  value
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name.length > 0),
);

/** The OTLP transports the exporters speak (`OTEL_EXPORTER_OTLP_PROTOCOL`). */
export const OTLP_PROTOCOLS = ["http/protobuf", "http/json", "grpc"] as const;

/**
 * The telemetry settings: the standard `OTEL_*` variables (with the specification's defaults;
 * the SDK reads the others, such as `OTEL_BSP_*` or `OTEL_TRACES_SAMPLER`, itself) plus
 * Conveyor's own, which live outside the `OTEL_` namespace. Parsed once, at start.
 */
export const TelemetrySettings = z.object({
  OTEL_SDK_DISABLED: z
    .enum(["true", "false", ""])
    .default("false")
    .transform((value) => value === "true"),
  OTEL_SERVICE_NAME: z.string().min(1).default("conveyor"),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().default("http://localhost:4318"),
  /** The OTLP transport of every signal; `OTEL_EXPORTER_OTLP_<SIGNAL>_PROTOCOL` overrides it. */
  OTEL_EXPORTER_OTLP_PROTOCOL: z.enum(OTLP_PROTOCOLS).default("http/protobuf"),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z.enum(OTLP_PROTOCOLS).optional(),
  OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: z.enum(OTLP_PROTOCOLS).optional(),
  /** Where spans go: `otlp`, `console`, both, or `none`. */
  OTEL_TRACES_EXPORTER: nameList.default(["otlp"]),
  /**
   * Where metrics go: pushed over OTLP, the Prometheus `/metrics` endpoint of each app (served
   * on the app's own port, not the SDK's 9464), `console`, or `none`.
   */
  OTEL_METRICS_EXPORTER: nameList.default(["otlp", "prometheus"]),
  /** How often metrics are pushed over OTLP, in ms: the specification's 60 s by default. */
  OTEL_METRIC_EXPORT_INTERVAL: z.coerce.number().int().positive().default(60_000),
  /** Longest one OTLP metrics push may take, in ms (at most the interval). */
  OTEL_METRIC_EXPORT_TIMEOUT: z.coerce.number().int().positive().default(30_000),
  NODE_ENV: z.string().default("development"),
  /**
   * Whether every Redis command made inside a span gets a CLIENT span of its own (the ioredis
   * instrumentation: `evalsha`, `set`, … with `db.*` attributes). Off by default: they were a
   * quarter of all spans, on every hop's hot path, and each hop's messaging span already times
   * its work and names the Redis server (Conveyor's own setting).
   */
  TELEMETRY_REDIS_SPANS: z
    .enum(["true", "false", ""])
    .default("false")
    .transform((value) => value === "true"),
  /** Longest a stopping process waits to flush telemetry (Conveyor's own setting). */
  TELEMETRY_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(2_000),
});
export type TelemetrySettings = z.infer<typeof TelemetrySettings>;
