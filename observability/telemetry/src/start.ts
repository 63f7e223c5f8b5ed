import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { DiagConsoleLogger, DiagLogLevel, diag } from "@opentelemetry/api";
import { OTLPMetricExporter as GrpcMetricExporter } from "@opentelemetry/exporter-metrics-otlp-grpc";
import { OTLPMetricExporter as JsonMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { OTLPMetricExporter as ProtobufMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { OTLPTraceExporter as GrpcTraceExporter } from "@opentelemetry/exporter-trace-otlp-grpc";
import { OTLPTraceExporter as JsonTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtobufTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { GraphQLInstrumentation } from "@opentelemetry/instrumentation-graphql";
import { HttpInstrumentation } from "@opentelemetry/instrumentation-http";
import { IORedisInstrumentation } from "@opentelemetry/instrumentation-ioredis";
import { PinoInstrumentation } from "@opentelemetry/instrumentation-pino";
import { RuntimeNodeInstrumentation } from "@opentelemetry/instrumentation-runtime-node";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  ConsoleMetricExporter,
  type MetricReader,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
} from "@opentelemetry/sdk-metrics";
import { NodeSDK } from "@opentelemetry/sdk-node";
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
import { setTelemetryHooks } from "./hooks.ts";
import { type OTLP_PROTOCOLS, TelemetrySettings } from "./settings.ts";

type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

/** The OTLP span exporter of a transport; each reads its endpoint and headers from OTEL_*. */
function otlpSpanExporter(protocol: OtlpProtocol): SpanExporter {
  if (protocol === "grpc") return new GrpcTraceExporter();
  if (protocol === "http/json") return new JsonTraceExporter();
  return new ProtobufTraceExporter();
}

function otlpMetricExporter(protocol: OtlpProtocol): PushMetricExporter {
  if (protocol === "grpc") return new GrpcMetricExporter();
  if (protocol === "http/json") return new JsonMetricExporter();
  return new ProtobufMetricExporter();
}

/** The span processors `OTEL_TRACES_EXPORTER` asks for; none for `none`. */
function spanProcessorsOf(settings: TelemetrySettings): SpanProcessor[] {
  const names = new Set(settings.OTEL_TRACES_EXPORTER);
  if (names.has("none")) return [];
  const protocol =
    settings.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? settings.OTEL_EXPORTER_OTLP_PROTOCOL;
  const processors: SpanProcessor[] = [];
  for (const name of names) {
    if (name === "otlp") processors.push(new BatchSpanProcessor(otlpSpanExporter(protocol)));
    else if (name === "console") processors.push(new BatchSpanProcessor(new ConsoleSpanExporter()));
    else diag.warn(`OTEL_TRACES_EXPORTER: unsupported exporter "${name}" (otlp, console, none)`);
  }
  return processors;
}

const version = (
  JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
    version: string;
  }
).version;

/** The instrumentations Conveyor uses, chosen one by one (not every auto-instrumentation). */
function instrumentations(settings: TelemetrySettings) {
  return [
    new HttpInstrumentation({
      // Health probes and scrapes every few seconds would drown the traces that matter.
      ignoreIncomingRequestHook: (request) =>
        /^\/(healthz|readyz|metrics)\b/.test(request.url ?? ""),
    }),
    // Opt-in (TELEMETRY_REDIS_SPANS): not even loaded otherwise, so ioredis is not wrapped.
    ...(settings.TELEMETRY_REDIS_SPANS
      ? [new IORedisInstrumentation({ requireParentSpan: true })]
      : []),
    new GraphQLInstrumentation({ mergeItems: true, ignoreTrivialResolveSpans: true }),
    new PinoInstrumentation(),
    // Event-loop delay and utilization, GC pauses, V8 heap: the process's own health.
    new RuntimeNodeInstrumentation(),
  ];
}

/**
 * Starts OpenTelemetry for this process, configured by the standard variables: traces over OTLP
 * (`OTEL_TRACES_EXPORTER`, `OTEL_EXPORTER_OTLP_PROTOCOL`, http/protobuf by default), metrics
 * over OTLP and on a Prometheus handler (`OTEL_METRICS_EXPORTER`, `OTEL_METRIC_EXPORT_INTERVAL`),
 * log correlation, W3C trace context and baggage. Export is batched and
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

  const metricExporters = new Set(settings.OTEL_METRICS_EXPORTER);
  if (metricExporters.has("none")) metricExporters.clear();
  const metricReaders: MetricReader[] = [];
  let prometheus: PrometheusExporter | undefined;
  if (metricExporters.has("prometheus")) {
    prometheus = new PrometheusExporter({ preventServerStart: true });
    metricReaders.push(prometheus);
  }
  const push = (exporter: PushMetricExporter) =>
    new PeriodicExportingMetricReader({
      exporter,
      exportIntervalMillis: settings.OTEL_METRIC_EXPORT_INTERVAL,
      exportTimeoutMillis: Math.min(
        settings.OTEL_METRIC_EXPORT_TIMEOUT,
        settings.OTEL_METRIC_EXPORT_INTERVAL,
      ),
    });
  if (metricExporters.has("otlp")) {
    const protocol =
      settings.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL ?? settings.OTEL_EXPORTER_OTLP_PROTOCOL;
    metricReaders.push(push(otlpMetricExporter(protocol)));
  }
  if (metricExporters.has("console")) metricReaders.push(push(new ConsoleMetricExporter()));

  const sdk = new NodeSDK({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: settings.OTEL_SERVICE_NAME,
      [ATTR_SERVICE_VERSION]: version,
      "deployment.environment.name": settings.NODE_ENV,
    }),
    spanProcessors: spanProcessorsOf(settings),
    metricReaders,
    instrumentations: instrumentations(settings),
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
      Promise.race([sdk.shutdown().catch(() => {}), sleep(settings.TELEMETRY_SHUTDOWN_TIMEOUT_MS)]),
  });
}
