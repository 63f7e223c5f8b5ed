import { collect, type ReceivedEvent, sseClient, uniquePrefix, waitFor } from "@conveyor/testkit";
import { describe, expect, inject, it, onTestFinished } from "vitest";
import { type System, startSystem } from "./support/system.ts";

const PLACE_ORDER = /* GraphQL */ `
  mutation Place($input: PlaceOrderInput!) {
    placeOrder(input: $input) { order { id status } }
  }
`;
const ORDER = /* GraphQL */ `
  query Order($id: ID!) {
    order(id: $id) { id status failureReason events { cursor type service } }
  }
`;
const ORDER_EVENTS = /* GraphQL */ `
  subscription Journey($orderId: ID!, $after: String) {
    orderEvents(orderId: $orderId, after: $after) { id cursor type orderId }
  }
`;
const HAPPY_PATH = ["order.created", "inventory.reserved", "payment.processed", "shipment.created"];

async function startTestSystem(appEnv: Parameters<typeof startSystem>[0]["appEnv"] = {}) {
  const system = await startSystem({
    redisUrl: inject("redisUrl"),
    prefix: uniquePrefix("system"),
    env: { TRIM_INTERVAL_MS: "3600000", CLAIM_IDLE_MS: "2000" },
    appEnv,
  });
  onTestFinished(() => system.stopAll());
  return system;
}

async function placeOrder(
  system: System,
  customerId: string,
  sku = "KB-001",
  paymentToken = "tok_visa",
) {
  const response = await system.graphql<{ placeOrder: { order: { id: string; status: string } } }>(
    PLACE_ORDER,
    { input: { customerId, items: [{ sku, quantity: 1 }], paymentToken } },
  );
  expect(response.errors).toBeUndefined();
  return response.data?.placeOrder.order.id as string;
}

async function orderOf(system: System, id: string) {
  const response = await system.graphql<{
    order: {
      status: string;
      failureReason: string | null;
      events: Array<{ cursor: string; type: string; service: string }>;
    };
  }>(ORDER, { id });
  return response.data?.order;
}

const typesOf = (events: readonly ReceivedEvent[]) => events.map((event) => event.type);

describe("the whole system, as real processes", () => {
  it("lets a client watch an order over graphql-sse from order.created to shipment.created", async () => {
    const system = await startTestSystem();
    const client = sseClient(`${system.gatewayUrl}/graphql/stream`, false);
    const orderId = await placeOrder(system, "watcher");
    const journey = collect(client, ORDER_EVENTS, { orderId });

    await waitFor("the shipment event", () => typesOf(journey.events).includes("shipment.created"));
    expect(typesOf(journey.events)).toEqual(HAPPY_PATH);
    expect(journey.events.every((event) => event.orderId === orderId)).toBe(true);

    const order = await orderOf(system, orderId);
    expect(order?.status).toBe("SHIPPED");
    expect(order?.events.map((event) => [event.type, event.service])).toEqual([
      ["order.created", "gateway"],
      ["inventory.reserved", "inventory"],
      ["payment.processed", "payment"],
      ["shipment.created", "shipment"],
    ]);
    expect(order?.events.map((event) => event.cursor)).toEqual(
      journey.events.map((event) => event.cursor),
    );
  });

  it("keeps an order waiting at PAID while shipment is down, and ships it on the same subscription when shipment returns", async () => {
    const system = await startTestSystem();
    await system.stop("shipment");
    const client = sseClient(`${system.gatewayUrl}/graphql/stream`, true);
    const orderId = await placeOrder(system, "resilience");
    const journey = collect(client, ORDER_EVENTS, { orderId });

    await waitFor("payment.processed", () => typesOf(journey.events).includes("payment.processed"));
    await waitFor(
      "the order to be PAID",
      async () => (await orderOf(system, orderId))?.status === "PAID",
    );
    expect(typesOf(journey.events)).toEqual(HAPPY_PATH.slice(0, 3));

    await system.start("shipment");
    await waitFor("shipment.created after the restart", () =>
      typesOf(journey.events).includes("shipment.created"),
    );
    expect(typesOf(journey.events)).toEqual(HAPPY_PATH);
    expect(new Set(journey.events.map((event) => event.cursor)).size).toBe(4);
    expect(journey.isDone).toBe(false);
    expect((await orderOf(system, orderId))?.status).toBe("SHIPPED");
  });

  it("shows a declined payment as CANCELLED with the reason, and the stock back", async () => {
    const system = await startTestSystem();
    const stockOf = async () =>
      (
        await system.graphql<{ products: Array<{ sku: string; stock: number }> }>(
          "{ products { sku stock } }",
        )
      ).data?.products.find((product) => product.sku === "MS-001")?.stock;
    const before = await stockOf();
    const orderId = await placeOrder(system, "declined", "MS-001", "tok_chargeDeclined");
    const order = await waitFor("the order to be CANCELLED", async () => {
      const found = await orderOf(system, orderId);
      return found?.status === "CANCELLED" && found;
    });
    expect(order.failureReason).toMatch(/declined/i);
    expect(order.events.map((event) => event.type)).toEqual([
      "order.created",
      "inventory.reserved",
      "payment.failed",
      "inventory.released",
    ]);
    expect(await stockOf()).toBe(before);
  });

  it("gives every client each event of its order exactly once, in order, while orders race and clients resume", async () => {
    const system = await startTestSystem({ payment: { PAYMENT_LATENCY_MS: "150" } });
    const url = `${system.gatewayUrl}/graphql/stream`;
    const orderIds = await Promise.all(
      Array.from({ length: 24 }, (_, index) => placeOrder(system, `racer-${index}`)),
    );
    // Half the clients watch from the start; the other half connect, drop after their first
    // event and resume with the cursor they last saw, while the orders keep moving.
    const watchers = orderIds.map(async (orderId, index) => {
      const client = sseClient(url, index % 4 === 0);
      if (index % 2 === 0) {
        const journey = collect(client, ORDER_EVENTS, { orderId });
        await waitFor(`${orderId} to ship`, () => journey.events.length === 4, 30_000);
        return journey.events;
      }
      const first = collect(client, ORDER_EVENTS, { orderId });
      await waitFor("a first event", () => first.events.length > 0, 30_000);
      first.dispose();
      const seen = [...first.events];
      const resumed = collect(client, ORDER_EVENTS, { orderId, after: seen.at(-1)?.cursor });
      await waitFor(
        `${orderId} to ship after resuming`,
        () => seen.length + resumed.events.length >= 4,
        30_000,
      );
      return [...seen, ...resumed.events];
    });
    const journeys = await Promise.all(watchers);
    for (const [index, events] of journeys.entries()) {
      expect(typesOf(events)).toEqual(HAPPY_PATH);
      expect(events.every((event) => event.orderId === orderIds[index])).toBe(true);
    }
  });
});
