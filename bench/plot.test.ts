import { describe, expect, it } from "vitest";
import { chartsOf, renderChart } from "./plot.ts";

describe("bench plots", () => {
  it("draws the open-loop and fan-out curves from a bench document, one polyline per series", () => {
    const charts = chartsOf([
      {
        sections: [
          {
            section: "e2e",
            results: [false, true].map((tracing) => ({
              tracing,
              openLoop: [
                { offeredPerSecond: 100, shippedPerSecond: 100, latencyMs: { p99: 40 } },
                { offeredPerSecond: 1000, shippedPerSecond: 800, latencyMs: { p99: 3000 } },
              ],
            })),
          },
          {
            section: "fanout",
            results: [1, 1000].map((subscribers) => ({
              subscribers,
              ordersPerSecond: 20,
              gatewayCpuPercent: subscribers / 20,
              deliveryLagMs: { p99: subscribers / 10 + 5 },
            })),
          },
        ],
      },
    ]);
    expect([...charts.keys()].sort()).toEqual([
      "bench-e2e-open-loop-latency.svg",
      "bench-e2e-open-loop-throughput.svg",
      "bench-fanout-cpu.svg",
      "bench-fanout-lag.svg",
    ]);
    const svg = renderChart(charts.get("bench-e2e-open-loop-throughput.svg") as never);
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg.match(/<circle/g)).toHaveLength(4);
    expect(svg).toContain("tracing on");
  });
});
