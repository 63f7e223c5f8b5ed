import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { DiagConsoleLogger, DiagLogLevel, diag } from "@opentelemetry/api";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { GraphQLInstrumentation } from "@opentelemetry/instrumentation-graphql";
import { HttpInstrumentation } from "@opentelemetry/instrumentation-http";
import { IORedisInstrumentation } from "@opentelemetry/instrumentation-ioredis";
import { PinoInstrumentation } from "@opentelemetry/instrumentation-pino";
import { RuntimeNodeInstrumentation } from "@opentelemetry/instrumentation-runtime-node";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { type MetricReader, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { NodeSDK } from "@opentelemetry/sdk-node";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
import { setTelemetryHooks } from "./hooks.ts";
import { TelemetrySettings } from "./settings.ts";

const version = (
  JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
    version: string;
  }
).version;

/** The instrumentations Conveyor uses, chosen one by one (not every auto-instrumentation). */
function instrumentations() {
  return [
    new HttpInstrumentation({
      // Health probes and scrapes every few seconds would drown the traces that matter.
      ignoreIncomingRequestHook: (request) =>
        /^\/(healthz|readyz|metrics)\b/.test(request.url ?? ""),
    }),
    new IORedisInstrumentation({ requireParentSpan: true }),
    new GraphQLInstrumentation({ mergeItems: true, ignoreTrivialResolveSpans: true }),
    new PinoInstrumentation(),
    // Event-loop delay and utilization, GC pauses, V8 heap: the process's own health.
    new RuntimeNodeInstrumentation(),
  ];
}

/**
 * Starts OpenTelemetry for this process: traces over OTLP/HTTP, metrics over OTLP and on a
 * Prometheus handler, log correlation, W3C trace context and baggage. Export is batched and
 * asynchronous, so a slow or absent collector never slows or breaks the pipeline.
 */
export function startTelemetry(source: NodeJS.ProcessEnv = process.env): void {
  const settings = TelemetrySettings.parse(source);
  if (settings.OTEL_SDK_DISABLED) {
    setTelemetryHooks({ shutdown: async () => {} });
    return;
  }
  if (source.OTEL_LOG_LEVEL === "debug")
    diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.DEBUG);

  const exporters = new Set(settings.OTEL_METRICS_EXPORTER.split(",").map((name) => name.trim()));
  const metricReaders: MetricReader[] = [];
  let prometheus: PrometheusExporter | undefined;
  if (exporters.has("prometheus")) {
    prometheus = new PrometheusExporter({ preventServerStart: true });
    metricReaders.push(prometheus);
  }
  if (exporters.has("otlp")) {
    metricReaders.push(
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter(),
        exportIntervalMillis: settings.OTEL_METRIC_EXPORT_INTERVAL,
      }),
    );
  }

  const sdk = new NodeSDK({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: settings.OTEL_SERVICE_NAME,
      [ATTR_SERVICE_VERSION]: version,
      "deployment.environment.name": settings.NODE_ENV,
    }),
    traceExporter: new OTLPTraceExporter(),
    metricReaders,
    instrumentations: instrumentations(),
  });
  sdk.start();

  const activePrometheus = prometheus;
  setTelemetryHooks({
    ...(activePrometheus
      ? {
          metricsHandler: (request, response) =>
            activePrometheus.getMetricsRequestHandler(request, response),
        }
      : {}),
    // A collector that is down must not hold a stopping process: flush what it can, briefly.
    shutdown: () =>
      Promise.race([sdk.shutdown().catch(() => {}), sleep(settings.OTEL_SHUTDOWN_TIMEOUT_MS)]),
  });
}
