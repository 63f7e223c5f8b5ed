import { setTimeout as sleep } from "node:timers/promises";
import { createKeys } from "@conveyor/contract";
import { countBy, readEvents, uniquePrefix, waitFor } from "@conveyor/testkit";
import { Redis } from "ioredis";
import { expect, inject, it, onTestFinished } from "vitest";
import { startSystem } from "./support/system.ts";

const DEAD_LETTERS = /* GraphQL */ `
  query DeadLetters {
    deadLetters(first: 20) {
      totalCount
      nodes { id stream entryId service reason lastError deliveryCount orderId fields }
    }
  }
`;

const REDELIVER = /* GraphQL */ `
  mutation Redeliver($id: ID!) {
    redeliverDeadLetter(id: $id) { entryId deadLetter { id orderId } }
  }
`;

interface DeadLetterNode {
  id: string;
  stream: string;
  entryId: string;
  service: string;
  reason: string;
  lastError: string | null;
  deliveryCount: number;
  orderId: string | null;
  fields: Record<string, string>;
}

it("redrives a poison order once its cause is fixed: it ships exactly once, and a second redrive does nothing", async () => {
  const prefix = uniquePrefix("redrive");
  const keys = createKeys(prefix);
  const redis = new Redis(inject("redisUrl"));
  onTestFinished(() => void redis.quit());
  const retryFast = { MAX_DELIVERIES: "2", CLAIM_IDLE_MS: "300", CLAIM_INTERVAL_MS: "100" };
  const system = await startSystem({ redisUrl: inject("redisUrl"), prefix, env: retryFast });
  onTestFinished(() => system.stopAll());

  // Poison: the sku's stock is not a number, so every reservation attempt fails.
  await redis.hset(keys.stock, "HD-001", "unknown");
  const placed = await system.graphql<{ placeOrder: { order: { id: string } } }>(
    `mutation { placeOrder(input: { customerId: "redrive", items: [{ sku: "HD-001", quantity: 1 }] }) { order { id } } }`,
  );
  const orderId = placed.data?.placeOrder.order.id as string;
  expect(orderId).toBeTruthy();

  const deadLettersOf = async () => {
    const response = await system.graphql<{
      deadLetters: { totalCount: number; nodes: DeadLetterNode[] };
    }>(DEAD_LETTERS);
    expect(response.errors).toBeUndefined();
    return response.data?.deadLetters.nodes.filter((node) => node.orderId === orderId) ?? [];
  };
  const [first] = await waitFor("the order to be dead-lettered", async () => {
    const letters = await deadLettersOf();
    return letters.length === 1 && letters;
  });
  expect(first).toMatchObject({
    stream: "order.created",
    service: "inventory",
    reason: "not processed after 2 deliveries",
    deliveryCount: 3,
    fields: { type: "order.created", orderId },
  });
  expect(first?.lastError).toBeTruthy();

  // Redriven before the fix, it fails again and comes back as a new dead letter.
  const early = await system.graphql(REDELIVER, { id: first?.id });
  expect(early.errors).toBeUndefined();
  const [second] = await waitFor("the order to be dead-lettered again", async () => {
    const letters = await deadLettersOf();
    return letters.length === 1 && letters[0]?.id !== first?.id && letters;
  });
  expect(second?.reason).toBe("not processed after 2 deliveries");

  // The fix: the corrupt value goes, and a restock puts real stock there.
  await redis.hdel(keys.stock, "HD-001");
  const restocked = await system.graphql<{ restock: { product: { stock: number } } }>(
    `mutation { restock(input: { sku: "HD-001", quantity: 5 }) { product { stock } } }`,
  );
  expect(restocked.data?.restock.product.stock).toBe(5);

  // Two operators click "redeliver" at once, and one of them again.
  const clicks = await Promise.all([
    system.graphql(REDELIVER, { id: second?.id }),
    system.graphql(REDELIVER, { id: second?.id }),
  ]);
  const again = await system.graphql(REDELIVER, { id: second?.id });
  const codes = [...clicks, again].map((response) => response.errors?.[0]?.extensions?.code);
  expect(codes.filter((code) => code === undefined)).toHaveLength(1);
  expect(codes.filter((code) => code === "NOT_FOUND")).toHaveLength(2);
  const bulk = await system.graphql<{ redeliverDeadLetters: { redeliveredCount: number } }>(
    `mutation { redeliverDeadLetters(filter: { orderId: "${orderId}" }) { redeliveredCount } }`,
  );
  expect(bulk.data?.redeliverDeadLetters.redeliveredCount).toBe(0);

  await waitFor("the order to ship", async () => {
    const response = await system.graphql<{ order: { status: string } }>(
      "query($id: ID!) { order(id: $id) { status } }",
      { id: orderId },
    );
    return response.data?.order.status === "SHIPPED";
  });
  // Give a duplicate the time to show up, were there one.
  await sleep(1_000);
  for (const type of ["inventory.reserved", "payment.processed", "shipment.created"] as const) {
    const perOrder = countBy((await readEvents(redis, keys, type)).map((event) => event.orderId));
    expect(perOrder.get(orderId), type).toBe(1);
  }
  expect(await redis.hget(keys.stock, "HD-001")).toBe("4");
  expect(await deadLettersOf()).toEqual([]);
  const history = await system.graphql<{ order: { events: Array<{ type: string }> } }>(
    "query($id: ID!) { order(id: $id) { events { type } } }",
    { id: orderId },
  );
  expect(history.data?.order.events.map((event) => event.type)).toEqual([
    "order.created",
    "inventory.reserved",
    "payment.processed",
    "shipment.created",
  ]);
});
