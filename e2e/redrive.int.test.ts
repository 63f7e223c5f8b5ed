import { setTimeout as sleep } from "node:timers/promises";
import { createKeys, fieldsToRecord } from "@conveyor/contract";
import { replyToRecord } from "@conveyor/runtime";
import {
  countBy,
  orderCreated,
  publishEvent,
  readEvents,
  uniquePrefix,
  waitFor,
} from "@conveyor/testkit";
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

it("redrives a dead letter of the read model to the read model alone: no service does its step again", async () => {
  const prefix = uniquePrefix("redrive-gw");
  const keys = createKeys(prefix);
  const redis = new Redis(inject("redisUrl"));
  onTestFinished(() => void redis.quit());
  const system = await startSystem({ redisUrl: inject("redisUrl"), prefix });
  onTestFinished(() => system.stopAll());

  const order = orderCreated({ orderId: "redrive-read-model" });
  const entryId = await publishEvent(redis, keys, order);
  await waitFor("the order to ship", async () =>
    (await readEvents(redis, keys, "shipment.created")).some(
      (event) => event.orderId === order.orderId,
    ),
  );
  // The read model gave up on order.created (as its consumer records it), while the services
  // processed it and moved the order on.
  const stream = keys.partition(0).stream("order.created");
  const [[, flat] = ["", []]] = await redis.xrange(stream, entryId, entryId);
  await redis.xadd(
    keys.partition(0).deadLetter,
    "*",
    ...["reason", "not processed after 5 deliveries", "stream", stream, "entryId", entryId],
    ...["group", "gateway", "consumer", "gateway-1", "deliveries", "6"],
    ...["deadLetteredAt", new Date().toISOString(), "orderId", order.orderId],
    ...["fields", JSON.stringify(fieldsToRecord(flat))],
  );

  const bulk = await system.graphql<{ redeliverDeadLetters: { redeliveredCount: number } }>(
    `mutation { redeliverDeadLetters(filter: { service: "gateway", orderId: "${order.orderId}" }) { redeliveredCount } }`,
  );
  expect(bulk.data?.redeliverDeadLetters.redeliveredCount).toBe(1);
  await waitFor("every group to have read and acknowledged the redriven entry", async () => {
    const groups = (await redis.xinfo("GROUPS", stream)) as unknown[];
    return (
      groups.length === 2 &&
      groups.every((group) => {
        const info = replyToRecord(group);
        return Number(info.lag) === 0 && Number(info.pending) === 0;
      })
    );
  });
  expect(await redis.xlen(stream)).toBe(2);
  await sleep(500);
  // Inventory saw the redrive was not for it: nothing published twice, nothing dead-lettered.
  for (const type of ["inventory.reserved", "payment.processed", "shipment.created"] as const) {
    const perOrder = countBy((await readEvents(redis, keys, type)).map((event) => event.orderId));
    expect(perOrder.get(order.orderId), type).toBe(1);
  }
  expect(await redis.xlen(keys.partition(0).deadLetter)).toBe(0);
  const status = await system.graphql<{ order: { status: string; events: unknown[] } }>(
    "query($id: ID!) { order(id: $id) { status events { type } } }",
    { id: order.orderId },
  );
  expect(status.data?.order).toMatchObject({ status: "SHIPPED" });
  expect(status.data?.order.events).toHaveLength(4);
});
