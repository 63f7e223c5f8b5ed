import { startOtlpReceiver, uniquePrefix, waitFor } from "@conveyor/testkit";
import { describe, expect, inject, it, onTestFinished } from "vitest";
import { startSystem } from "./support/system.ts";

describe("metrics on every process's /metrics", () => {
  it("counts processed events per service and the end-to-end latency of orders", async () => {
    const receiver = await startOtlpReceiver();
    onTestFinished(() => receiver.stop());
    const system = await startSystem({
      redisUrl: inject("redisUrl"),
      prefix: uniquePrefix("metrics"),
      otlpEndpoint: receiver.endpoint,
    });
    onTestFinished(() => system.stopAll());
    const placed = await system.graphql<{ placeOrder: { order: { id: string } } }>(
      `mutation { placeOrder(input: { customerId: "metrics", items: [{ sku: "WC-001", quantity: 1 }] }) { order { id } } }`,
    );
    const orderId = placed.data?.placeOrder.order.id;
    await waitFor("the order to ship", async () => {
      const response = await system.graphql<{ order: { status: string } }>(
        `{ order(id: "${orderId}") { status } }`,
      );
      return response.data?.order.status === "SHIPPED";
    });

    const scrape = async (port: number) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const inventory = system.processes.get("inventory")?.healthPort as number;
    const inventoryMetrics = await scrape(inventory);
    expect(inventoryMetrics).toMatch(
      /conveyor_events_processed_total\{[^}]*service="inventory"[^}]*type="order\.created"[^}]*outcome="processed"[^}]*\} 1/,
    );
    expect(inventoryMetrics).toMatch(/conveyor_event_processing_duration(_seconds)?_count\{/);

    const gateway = system.processes.get("gateway")?.healthPort as number;
    const gatewayMetrics = await waitFor("the order latency", async () => {
      const text = await scrape(gateway);
      return (
        /conveyor_order_duration(_seconds)?_count\{[^}]*status="SHIPPED"[^}]*\} 1/.test(text) &&
        text
      );
    });
    expect(gatewayMetrics).toMatch(/conveyor_consumer_lag\{[^}]*group="inventory"[^}]*\} 0/);
    expect(gatewayMetrics).toMatch(/conveyor_dead_letter_count(\{[^}]*\})? 0/);
    expect(gatewayMetrics).toMatch(/conveyor_subscribers(\{[^}]*\})? 0/);
  });
});
