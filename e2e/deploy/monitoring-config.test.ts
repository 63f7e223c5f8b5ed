import { describe, expect, it } from "vitest";
import { labelNamesOf, metricNamesOf, sampleLabelsOf, sampleNamesOf } from "./monitoring-config.ts";

describe("metricNamesOf", () => {
  it("finds the metrics of an expression, not its functions, labels, durations or variables", () => {
    expect(
      metricNamesOf(
        'histogram_quantile(0.99, sum by (le, service) (rate(conveyor_event_processing_duration_bucket{outcome!="processed"}[$__rate_interval])))',
      ),
    ).toEqual(["conveyor_event_processing_duration_bucket"]);
    expect(
      metricNamesOf(
        "max by (stream, group) (conveyor_consumer_lag) > 100 and max by (stream, group) (deriv(conveyor_consumer_lag[10m])) > 0",
      ),
    ).toEqual(["conveyor_consumer_lag"]);
    expect(
      metricNamesOf("sum(rate(a_total[5m])) / sum(rate(b_total[5m])) or on() vector(0)"),
    ).toEqual(["a_total", "b_total"]);
    expect(metricNamesOf('absent(up{job="gateway"} == 1)')).toEqual(["up"]);
  });
});

describe("sampleNamesOf", () => {
  it("reads the sample names of a Prometheus exposition", () => {
    const text = [
      "# HELP x_total Things",
      "# TYPE x_total counter",
      'x_total{a="1"} 3',
      'y_bucket{le="+Inf"} 1',
      "z 0",
      "",
    ].join("\n");
    expect([...sampleNamesOf(text)].sort()).toEqual(["x_total", "y_bucket", "z"]);
  });
});

describe("labelNamesOf and sampleLabelsOf", () => {
  it("find the labels an expression groups or matches by, and those a metric carries", () => {
    expect(
      labelNamesOf(
        'histogram_quantile(0.99, sum by (le, service) (rate(x_bucket{outcome!="a,b{c}"}[5m])))',
      ),
    ).toEqual(["le", "outcome", "service"]);
    const labels = sampleLabelsOf('x_bucket{service="a",le="1"} 1\nz 0\n');
    expect([...(labels.get("x_bucket") ?? [])].sort()).toEqual(["le", "service"]);
    expect([...(labels.get("z") ?? [])]).toEqual([]);
  });
});
