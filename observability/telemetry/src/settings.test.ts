import { describe, expect, it } from "vitest";
import { TelemetrySettings } from "./settings.ts";

/** The variables of the OpenTelemetry specification (SDK environment variables) used here. */
const SPECIFIED = new Set([
  "OTEL_SDK_DISABLED",
  "OTEL_SERVICE_NAME",
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_EXPORTER_OTLP_PROTOCOL",
  "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
  "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
  "OTEL_TRACES_EXPORTER",
  "OTEL_METRICS_EXPORTER",
  "OTEL_METRIC_EXPORT_INTERVAL",
  "OTEL_METRIC_EXPORT_TIMEOUT",
]);

describe("telemetry settings", () => {
  it("defaults to the specification's: OTLP over http/protobuf, metrics every 60 s", () => {
    expect(TelemetrySettings.parse({})).toMatchObject({
      OTEL_SDK_DISABLED: false,
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://localhost:4318",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
      OTEL_TRACES_EXPORTER: ["otlp"],
      OTEL_METRICS_EXPORTER: ["otlp", "prometheus"],
      OTEL_METRIC_EXPORT_INTERVAL: 60_000,
      TELEMETRY_SHUTDOWN_TIMEOUT_MS: 2_000,
      TELEMETRY_REDIS_SPANS: false,
    });
    expect(TelemetrySettings.parse({ TELEMETRY_REDIS_SPANS: "true" }).TELEMETRY_REDIS_SPANS).toBe(
      true,
    );
  });

  it("reads the standard variables and refuses a protocol no exporter speaks", () => {
    const settings = TelemetrySettings.parse({
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_TRACES_EXPORTER: " console , otlp ",
      OTEL_METRICS_EXPORTER: "none",
      OTEL_METRIC_EXPORT_INTERVAL: "5000",
    });
    expect(settings).toMatchObject({
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_TRACES_EXPORTER: ["console", "otlp"],
      OTEL_METRICS_EXPORTER: ["none"],
      OTEL_METRIC_EXPORT_INTERVAL: 5_000,
    });
    expect(() => TelemetrySettings.parse({ OTEL_EXPORTER_OTLP_PROTOCOL: "http" })).toThrow();
  });

  it("invents no variable in the OTEL_ namespace", () => {
    const invented = Object.keys(TelemetrySettings.shape).filter(
      (name) => name.startsWith("OTEL_") && !SPECIFIED.has(name),
    );
    expect(invented).toEqual([]);
  });
});
