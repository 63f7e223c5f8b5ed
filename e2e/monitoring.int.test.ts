/**
 * The monitoring profile's dashboards and alert rules against what the apps really export: a
 * whole system runs with telemetry on, does the things that make every metric appear (an order
 * that ships, a failed placeOrder, a malformed entry dead-lettered), and each app's /metrics is
 * scraped. Every metric a Grafana panel or a Prometheus rule selects must be among them.
 */
import { createKeys } from "@conveyor/contract";
import { startOtlpReceiver, uniquePrefix, waitFor } from "@conveyor/testkit";
import { Redis } from "ioredis";
import { describe, expect, inject, it, onTestFinished } from "vitest";
import {
  labelNamesOf,
  metricNamesOf,
  monitoringExpressions,
  PROMETHEUS_SERIES,
  sampleLabelsOf,
  TARGET_LABELS,
} from "./deploy/monitoring-config.ts";
import { APPS, type AppName, startSystem } from "./support/system.ts";

describe("the Grafana dashboard and the Prometheus alert rules", () => {
  it("use only metrics that the running apps export", async () => {
    const receiver = await startOtlpReceiver();
    onTestFinished(() => receiver.stop());
    const prefix = uniquePrefix("monitoring");
    // Quick claims and short leases, so that a stopped service's group shows no live consumer
    // within seconds (a lease lasts three claim intervals).
    const quick = { CLAIM_IDLE_MS: "1000", CLAIM_INTERVAL_MS: "300", MAX_DELIVERIES: "2" };
    const system = await startSystem({
      redisUrl: inject("redisUrl"),
      prefix,
      otlpEndpoint: receiver.endpoint,
      env: quick,
    });
    onTestFinished(() => system.stopAll());
    const redis = new Redis(inject("redisUrl"));
    onTestFinished(async () => {
      await redis.quit();
    });

    const placed = await system.graphql<{ placeOrder: { order: { id: string } } }>(
      `mutation { placeOrder(input: { customerId: "monitoring", items: [{ sku: "KB-001", quantity: 1 }] }) { order { id } } }`,
    );
    const orderId = placed.data?.placeOrder.order.id;
    expect(orderId).toBeDefined();
    const unknownSku = await system.graphql(
      `mutation { placeOrder(input: { customerId: "monitoring", items: [{ sku: "NOPE-1", quantity: 1 }] }) { order { id } } }`,
    );
    expect(unknownSku.errors?.[0]?.extensions?.code).toBe("UNKNOWN_SKU");
    // A malformed entry: inventory sends it to the dead-letter stream at once.
    await redis.xadd(
      createKeys(prefix).partition(0).stream("order.created"),
      "*",
      "type",
      "order.created",
    );
    await waitFor("the order to ship", async () => {
      const response = await system.graphql<{ order: { status: string } }>(
        `{ order(id: "${orderId}") { status } }`,
      );
      return response.data?.order.status === "SHIPPED";
    });

    const scrape = async (app: AppName) => {
      const port = system.processes.get(app)?.healthPort;
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(response.status, app).toBe(200);
      return response.text();
    };
    const expressions = await monitoringExpressions();
    const wanted = new Set(
      expressions
        .flatMap((expression) => metricNamesOf(expression.expr))
        .filter((name) => !PROMETHEUS_SERIES.has(name)),
    );
    expect(wanted.size).toBeGreaterThan(10);

    // Some series appear a moment later than the order (GC runs when it runs; event-loop delay
    // needs a few samples): scrape until every wanted name is there, or report what is not.
    let exported = new Map<AppName, Map<string, Set<string>>>();
    const labelsOf = (name: string) => {
      const labels = new Set<string>();
      for (const metrics of exported.values())
        for (const label of metrics.get(name) ?? []) labels.add(label);
      return labels;
    };
    const missingNow = () =>
      [...wanted].filter((name) => ![...exported.values()].some((metrics) => metrics.has(name)));
    await waitFor(
      "every metric the dashboard and rules use",
      async () => {
        exported = new Map(
          await Promise.all(
            (Object.keys(APPS) as AppName[]).map(
              async (app) => [app, sampleLabelsOf(await scrape(app))] as const,
            ),
          ),
        );
        return missingNow().length === 0 || missingNow();
      },
      30_000,
      500,
    ).catch(() => undefined);
    const missing = missingNow();
    const users = (name: string) =>
      expressions
        .filter((expression) => metricNamesOf(expression.expr).includes(name))
        .map((expression) => expression.where);
    expect(
      Object.fromEntries(missing.map((name) => [name, users(name)])),
      "metrics used but exported by no app",
    ).toEqual({});

    // Every label a panel or rule groups or matches by exists on the metrics it selects.
    const unknownLabels: Record<string, string[]> = {};
    for (const expression of expressions) {
      const names = metricNamesOf(expression.expr).filter((name) => !PROMETHEUS_SERIES.has(name));
      if (names.length === 0) continue;
      const available = new Set([
        ...TARGET_LABELS,
        ...names.flatMap((name) => [...labelsOf(name)]),
      ]);
      const unknown = labelNamesOf(expression.expr).filter((label) => !available.has(label));
      if (unknown.length > 0) unknownLabels[expression.where] = unknown;
    }
    expect(unknownLabels, "labels used but on none of the metrics selected").toEqual({});

    // Every app exports the runtime's own health (the dashboard's Node.js row, per job).
    for (const [app, metrics] of exported) {
      expect([...metrics.keys()], app).toContain("nodejs_eventloop_delay_p99");
      expect([...metrics.keys()], app).toContain("v8js_memory_heap_used");
    }
    // The workers export their throughput; the gateway the backlog of every group.
    for (const app of ["inventory", "payment", "shipment"] as const)
      expect([...(exported.get(app)?.keys() ?? [])], app).toContain(
        "conveyor_events_processed_total",
      );
    expect([...(exported.get("gateway")?.keys() ?? [])]).toContain("conveyor_consumer_live");
  });

  it("reports a consumer group with no live consumer once its last consumer stops", async () => {
    const receiver = await startOtlpReceiver();
    onTestFinished(() => receiver.stop());
    const system = await startSystem({
      redisUrl: inject("redisUrl"),
      prefix: uniquePrefix("liveness"),
      otlpEndpoint: receiver.endpoint,
      env: { CLAIM_IDLE_MS: "1000", CLAIM_INTERVAL_MS: "300" },
      apps: ["gateway", "shipment"],
    });
    onTestFinished(() => system.stopAll());
    const gatewayMetrics = async () => {
      const port = system.processes.get("gateway")?.healthPort;
      return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    };
    const shipmentLive = (text: string) =>
      /conveyor_consumer_live\{[^}]*stream="payment\.processed"[^}]*group="shipment"[^}]*\} (\d+)/.exec(
        text,
      )?.[1];
    await waitFor("shipment's consumer seen live", async () => {
      return shipmentLive(await gatewayMetrics()) === "1";
    });
    await system.stop("shipment");
    await waitFor("shipment's group without a live consumer", async () => {
      return shipmentLive(await gatewayMetrics()) === "0";
    });
  });
});
