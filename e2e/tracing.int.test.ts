import { setTimeout as sleep } from "node:timers/promises";
import {
  freePort,
  OtlpSpanKind,
  type ReceivedSpan,
  startOtlpReceiver,
  uniquePrefix,
  waitFor,
} from "@conveyor/testkit";
import { describe, expect, inject, it, onTestFinished } from "vitest";
import { type System, startSystem } from "./support/system.ts";

const PLACE_ORDER = /* GraphQL */ `
  mutation Place($input: PlaceOrderInput!) {
    placeOrder(input: $input) { order { id traceId } }
  }
`;

async function startTracedSystem(otlpEndpoint: string) {
  const system = await startSystem({
    redisUrl: inject("redisUrl"),
    prefix: uniquePrefix("traced"),
    otlpEndpoint,
    env: { TRIM_INTERVAL_MS: "3600000" },
  });
  onTestFinished(() => system.stopAll());
  return system;
}

async function placeOrder(system: System) {
  const response = await system.graphql<{
    placeOrder: { order: { id: string; traceId: string | null } };
  }>(PLACE_ORDER, { input: { customerId: "traced", items: [{ sku: "HD-001", quantity: 1 }] } });
  expect(response.errors).toBeUndefined();
  return response.data?.placeOrder.order as { id: string; traceId: string };
}

async function orderStatus(system: System, id: string) {
  const response = await system.graphql<{ order: { status: string } }>(
    "query($id: ID!) { order(id: $id) { status } }",
    { id },
  );
  return response.data?.order.status;
}

/** Finds the one span with this name (and service), failing clearly when there is not one. */
function only(spans: readonly ReceivedSpan[], name: string, service: string): ReceivedSpan {
  const found = spans.filter((span) => span.name === name && span.service === service);
  expect(found.map((span) => `${span.service}: ${span.name}`)).toEqual([`${service}: ${name}`]);
  return found[0] as ReceivedSpan;
}

describe("one OpenTelemetry trace per order, through Redis Stream fields", () => {
  it("chains the placeOrder request, every publish and every service's processing in one trace", async () => {
    const receiver = await startOtlpReceiver();
    onTestFinished(() => receiver.stop());
    const system = await startTracedSystem(receiver.endpoint);
    const order = await placeOrder(system);
    expect(order.traceId).toMatch(/^[0-9a-f]{32}$/);

    const inTrace = () => receiver.spans.filter((span) => span.traceId === order.traceId);
    // Each process exports on its own schedule: wait until every one has sent its part.
    const expected = [
      ["gateway", "publish order.created"],
      ["inventory", "process order.created"],
      ["inventory", "publish inventory.reserved"],
      ["payment", "process inventory.reserved"],
      ["payment", "publish payment.processed"],
      ["shipment", "process payment.processed"],
      ["shipment", "publish shipment.created"],
      ["gateway", "process shipment.created"],
    ] as const;
    await waitFor("every process's spans of the order", () =>
      expected.every(([service, name]) =>
        inTrace().some((span) => span.service === service && span.name === name),
      ),
    );
    const spans = inTrace();
    // Every app exports on the default transport, http/protobuf.
    expect(receiver.traceExports).toMatchObject({ json: 0, protobuf: expect.any(Number) });
    expect(new Set(spans.map((span) => span.service))).toEqual(
      new Set(["gateway", "inventory", "payment", "shipment"]),
    );
    const root = spans.find((span) => span.parentSpanId === undefined);
    expect(root).toMatchObject({ service: "gateway", kind: OtlpSpanKind.SERVER });

    const chain = expected.slice(0, 7).map(([service, name]) => only(spans, name, service));
    for (const [index, span] of chain.entries()) {
      expect(span.kind).toBe(index % 2 === 0 ? OtlpSpanKind.PRODUCER : OtlpSpanKind.CONSUMER);
      expect(span.attributes).toMatchObject({
        "messaging.system.name": "redis",
        "messaging.destination.name": span.name.split(" ")[1],
        "app.order.id": order.id,
        "server.address": "127.0.0.1",
        "server.port": expect.any(Number),
      });
      if (index > 0) expect(span.parentSpanId).toBe(chain[index - 1]?.spanId);
      // A process span links to its creation context (the publish) as well as being its child.
      const creation = chain[index - 1];
      if (index % 2 === 1) {
        expect(span.links).toEqual([{ traceId: creation?.traceId, spanId: creation?.spanId }]);
      } else expect(span.links).toEqual([]);
    }
    expect(chain[1]?.attributes).toMatchObject({
      "messaging.operation.type": "process",
      "messaging.consumer.group.name": "inventory",
      "redis.stream.message.delivery_count": 1,
    });
    // The first publish descends from the placeOrder request.
    const byId = new Map(spans.map((span) => [span.spanId, span]));
    let ancestor: ReceivedSpan | undefined = chain[0];
    while (ancestor?.parentSpanId) ancestor = byId.get(ancestor.parentSpanId);
    expect(ancestor?.spanId).toBe(root?.spanId);
    // The gateway's read model processes the same events in the same trace.
    const projected = only(spans, "process shipment.created", "gateway");
    expect(projected.parentSpanId).toBe(chain[6]?.spanId);
    expect(projected.links).toEqual([{ traceId: order.traceId, spanId: chain[6]?.spanId }]);
  });

  it("shows the wait in Redis as the gap between producer and consumer while shipment is down", async () => {
    const receiver = await startOtlpReceiver();
    onTestFinished(() => receiver.stop());
    const system = await startTracedSystem(receiver.endpoint);
    await system.stop("shipment");
    const order = await placeOrder(system);
    await waitFor(
      "the order to be PAID",
      async () => (await orderStatus(system, order.id)) === "PAID",
    );
    await sleep(3_000);
    await system.start("shipment");
    await waitFor(
      "the order to ship",
      async () => (await orderStatus(system, order.id)) === "SHIPPED",
    );

    const inTrace = () => receiver.spans.filter((span) => span.traceId === order.traceId);
    await waitFor("the shipment consumer span", () =>
      inTrace().some(
        (span) => span.name === "process payment.processed" && span.service === "shipment",
      ),
    );
    const published = only(inTrace(), "publish payment.processed", "payment");
    const processed = only(inTrace(), "process payment.processed", "shipment");
    expect(processed.parentSpanId).toBe(published.spanId);
    expect(processed.startNs - published.endNs).toBeGreaterThanOrEqual(3_000_000_000n);
  });

  it("writes log lines that carry the trace and the order", async () => {
    const receiver = await startOtlpReceiver();
    onTestFinished(() => receiver.stop());
    const system = await startSystem({
      redisUrl: inject("redisUrl"),
      prefix: uniquePrefix("logs"),
      otlpEndpoint: receiver.endpoint,
      appEnv: { inventory: { LOG_LEVEL: "debug" } },
    });
    onTestFinished(() => system.stopAll());
    const order = await placeOrder(system);
    const inventory = system.processes.get("inventory");
    const line = await waitFor("inventory's log line for the order", () =>
      inventory?.output
        .join("")
        .split("\n")
        .slice(0, -1) // the last piece may be a line still being written
        .filter((text) => text.startsWith("{"))
        .map((text) => JSON.parse(text) as Record<string, unknown>)
        .find((entry) => entry.msg === "processed" && entry.orderId === order.id),
    );
    expect(line).toMatchObject({
      service: "inventory",
      type: "order.created",
      trace_id: order.traceId,
      span_id: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
  });

  it("keeps orders flowing when the OTLP endpoint is unreachable", async () => {
    const closedPort = await freePort();
    const system = await startTracedSystem(`http://127.0.0.1:${closedPort}`);
    const order = await placeOrder(system);
    expect(order.traceId).toMatch(/^[0-9a-f]{32}$/);
    await waitFor(
      "the order to ship",
      async () => (await orderStatus(system, order.id)) === "SHIPPED",
    );
  });
});
