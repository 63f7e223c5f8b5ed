import { createKeys, type EventEnvelope, encodeEvent, type Keys } from "@conveyor/contract";
import { publishEvent, uniquePrefix, waitFor } from "@conveyor/testkit";
import { Redis } from "ioredis";
import { describe, expect, inject, it, onTestFinished } from "vitest";
import { eventsOf, testOrderId } from "../testing/events.ts";
import { startTestGateway, type TestGateway } from "../testing/test-gateway.ts";
import { type ProjectedEntry, projectEvents } from "./project-script.ts";
import { projectionOf } from "./projection.ts";
import { READ_MODEL_GROUP } from "./projector.ts";

interface OrderView {
  order: {
    id: string;
    status: string;
    customerId: string;
    total: { amountCents: number };
    failureReason: string | null;
    events: Array<{ type: string; cursor: string; service: string; data: Record<string, unknown> }>;
  } | null;
}

const ORDER = /* GraphQL */ `
  query Order($id: ID!) {
    order(id: $id) {
      id
      status
      customerId
      total { amountCents }
      failureReason
      events { type cursor service data }
    }
  }
`;

async function orderOf(test: TestGateway, id: string): Promise<OrderView["order"]> {
  return (await test.graphql<OrderView>(ORDER, { id })).data?.order ?? null;
}

async function waitForStatus(test: TestGateway, id: string, status: string, eventCount: number) {
  return waitFor(`order ${id} to be ${status} with ${eventCount} events`, async () => {
    const order = await orderOf(test, id);
    return order?.status === status && order.events.length === eventCount ? order : undefined;
  });
}

async function statusIndexesOf(test: TestGateway, id: string): Promise<string[]> {
  const statuses = ["PENDING", "RESERVED", "PAID", "SHIPPED", "REJECTED", "CANCELLED"];
  const scores = await Promise.all(
    statuses.map((status) => test.redis.zscore(test.keys.partition(0).ordersByStatus(status), id)),
  );
  return statuses.filter((_, index) => scores[index] !== null);
}

describe("read-model projector", () => {
  it("projects an order's events from created to shipped, with its history in order", async () => {
    const test = await startTestGateway();
    const id = testOrderId();
    const events = eventsOf(id);
    for (const event of [
      events.created(),
      events.reserved(),
      events.processed(),
      events.shipped(),
    ]) {
      await publishEvent(test.redis, test.keys, event);
    }
    const order = await waitForStatus(test, id, "SHIPPED", 4);
    expect(order).toMatchObject({ customerId: "alice", total: { amountCents: 17998 } });
    expect(order.events.map((event) => [event.type, event.service])).toEqual([
      ["order.created", "gateway"],
      ["inventory.reserved", "inventory"],
      ["payment.processed", "payment"],
      ["shipment.created", "shipment"],
    ]);
    expect(order.events[3]?.data).toMatchObject({ carrier: "UPS", trackingNumber: "1Z999" });
    expect(await statusIndexesOf(test, id)).toEqual(["SHIPPED"]);
    // The history's cursors are the feed's entry ids, in the same order.
    const feed = await test.redis.xrange(test.keys.partition(0).feed, "-", "+");
    expect(order.events.map((event) => event.cursor)).toEqual(feed.map(([entryId]) => entryId));
  });

  it("keeps a declined order RESERVED with the reason, then CANCELLED once released", async () => {
    const test = await startTestGateway();
    const id = testOrderId();
    const events = eventsOf(id);
    for (const event of [events.created(), events.reserved(), events.failed()]) {
      await publishEvent(test.redis, test.keys, event);
    }
    const declined = await waitForStatus(test, id, "RESERVED", 3);
    expect(declined.failureReason).toBe("CARD_DECLINED: the card was declined");
    await publishEvent(test.redis, test.keys, events.released());
    const cancelled = await waitForStatus(test, id, "CANCELLED", 4);
    expect(cancelled.failureReason).toBe("CARD_DECLINED: the card was declined");
    expect(await statusIndexesOf(test, id)).toEqual(["CANCELLED"]);
  });

  it("marks an order REJECTED with inventory's reason", async () => {
    const test = await startTestGateway();
    const id = testOrderId();
    const events = eventsOf(id);
    await publishEvent(test.redis, test.keys, events.created());
    await publishEvent(test.redis, test.keys, events.rejected());
    const order = await waitForStatus(test, id, "REJECTED", 2);
    expect(order.failureReason).toBe("INSUFFICIENT_STOCK: only 1 of KB-001 left");
  });

  it("puts events that arrive out of order back in sequence", async () => {
    const test = await startTestGateway();
    const id = testOrderId();
    const events = eventsOf(id);
    for (const event of [events.shipped(), events.reserved(), events.processed()]) {
      await publishEvent(test.redis, test.keys, event);
    }
    await waitFor("the early events to be stashed", async () =>
      (await test.redis.hlen(test.keys.orderStash(id))) === 3 ? true : undefined,
    );
    expect(await orderOf(test, id)).toBeNull();
    expect(await test.redis.xlen(test.keys.partition(0).feed)).toBe(0);

    await publishEvent(test.redis, test.keys, events.created());
    const order = await waitForStatus(test, id, "SHIPPED", 4);
    expect(order.events.map((event) => event.type)).toEqual([
      "order.created",
      "inventory.reserved",
      "payment.processed",
      "shipment.created",
    ]);
    expect(await test.redis.exists(test.keys.orderStash(id))).toBe(0);
  });

  it("ignores duplicate events, also a duplicate that arrives early", async () => {
    const test = await startTestGateway();
    const id = testOrderId();
    const events = eventsOf(id);
    const processed = events.processed();
    await publishEvent(test.redis, test.keys, processed);
    await publishEvent(test.redis, test.keys, processed);
    const created = events.created();
    await publishEvent(test.redis, test.keys, created);
    await publishEvent(test.redis, test.keys, events.reserved());
    await waitForStatus(test, id, "PAID", 3);
    await publishEvent(test.redis, test.keys, created);
    await publishEvent(test.redis, test.keys, events.reserved());
    await waitFor("the duplicates to be acknowledged", async () => {
      const groups = (await test.redis.xinfo(
        "GROUPS",
        test.keys.partition(0).stream("order.created"),
      )) as unknown[][];
      const info = groups[0] ?? [];
      return (
        info[info.indexOf("entries-read") + 1] === 2 && info[info.indexOf("pending") + 1] === 0
      );
    });
    await waitFor("inventory.reserved duplicates acknowledged", async () => {
      const [count] = (await test.redis.xpending(
        test.keys.partition(0).stream("inventory.reserved"),
        READ_MODEL_GROUP,
      )) as [number];
      return Number(count) === 0 ? true : undefined;
    });
    const order = await orderOf(test, id);
    expect(order?.events.map((event) => event.type)).toEqual([
      "order.created",
      "inventory.reserved",
      "payment.processed",
    ]);
    expect(await test.redis.xlen(test.keys.partition(0).feed)).toBe(3);
  });

  it("moves the order between status indexes and keeps a placed order PENDING on order.created", async () => {
    const test = await startTestGateway();
    const placed = await test.graphql<{ placeOrder: { order: { id: string } } }>(
      'mutation { placeOrder(input: { customerId: "c", items: [{ sku: "KB-001", quantity: 1 }] }) { order { id } } }',
    );
    const id = placed.data?.placeOrder.order.id ?? "";
    expect(await statusIndexesOf(test, id)).toEqual(["PENDING"]);
    const order = await waitForStatus(test, id, "PENDING", 1);
    expect(order.events[0]?.type).toBe("order.created");
    await publishEvent(test.redis, test.keys, eventsOf(id).reserved());
    await waitForStatus(test, id, "RESERVED", 2);
    expect(await statusIndexesOf(test, id)).toEqual(["RESERVED"]);
  });
});

describe("projection script", () => {
  it("applies an entry once, even when its commit runs again after the ack", async () => {
    const { redis, keys } = connect();
    const id = testOrderId();
    const entries = await deliverAll(redis, keys, [eventsOf(id).created()]);
    expect(await projectEvents(redis, keys, keys.partition(0), entries, 1000)).toEqual(["applied"]);
    expect(await projectEvents(redis, keys, keys.partition(0), entries, 1000)).toEqual([
      "already-acknowledged",
    ]);
    expect(await redis.llen(keys.orderEvents(id))).toBe(1);
    expect(await redis.xlen(keys.partition(0).feed)).toBe(1);
  });

  it("keeps numbers of a payload exact through the script", async () => {
    const { redis, keys } = connect();
    const id = testOrderId();
    const base = eventsOf(id).created();
    const event = { ...base, data: { ...base.data, totalCents: Number.MAX_SAFE_INTEGER } };
    await projectEvents(
      redis,
      keys,
      keys.partition(0),
      await deliverAll(redis, keys, [event]),
      1000,
    );
    const [stored] = await redis.lrange(keys.orderEvents(id), 0, 0);
    expect(JSON.parse(stored ?? "{}").data.totalCents).toBe(Number.MAX_SAFE_INTEGER);
    expect(await redis.hget(keys.order(id), "totalCents")).toBe(String(Number.MAX_SAFE_INTEGER));
  });

  it("projects a batch in one call as event by event: resequenced, duplicates and replays dropped", async () => {
    const { redis, keys } = connect();
    const id = testOrderId();
    const events = eventsOf(id);
    const created = events.created();
    // Out of step order, with a duplicate of created, all in one batch.
    const batch = [events.reserved(), created, events.processed(), created];
    const entries = await deliverAll(redis, keys, batch);
    expect(await projectEvents(redis, keys, keys.partition(0), entries, 1000)).toEqual([
      "stashed",
      "applied",
      "applied",
      "duplicate",
    ]);
    expect(await projectEvents(redis, keys, keys.partition(0), entries, 1000)).toEqual(
      entries.map(() => "already-acknowledged"),
    );
    const history = (await redis.lrange(keys.orderEvents(id), 0, -1)).map((json) =>
      JSON.parse(json),
    );
    expect(history.map((event) => event.type)).toEqual([
      "order.created",
      "inventory.reserved",
      "payment.processed",
    ]);
    const feed = await redis.xrange(keys.partition(0).feed, "-", "+");
    expect(history.map((event) => event.cursor)).toEqual(feed.map(([entryId]) => entryId));
    expect(await redis.hget(keys.order(id), "status")).toBe("PAID");
  });

  it("fails only the event whose commands fail; the rest of its batch is applied", async () => {
    const { redis, keys } = connect();
    const broken = testOrderId();
    const fine = testOrderId();
    // A string where the order's hash belongs: every hash command on it fails with WRONGTYPE.
    await redis.set(keys.order(broken), "not a hash");
    const entries = await deliverAll(redis, keys, [
      eventsOf(broken).created(),
      eventsOf(fine).created(),
    ]);
    const [failed, applied] = await projectEvents(redis, keys, keys.partition(0), entries, 1000);
    expect(failed).toBeInstanceOf(Error);
    expect(String(failed)).toMatch(/WRONGTYPE/);
    // It failed before its ack: still pending, so it is retried, then dead-lettered.
    const [brokenEntry] = entries;
    const pending = (await redis.xpending(
      brokenEntry?.delivery.stream as string,
      READ_MODEL_GROUP,
      "-",
      "+",
      10,
    )) as Array<[string]>;
    expect(pending.map(([entryId]) => entryId)).toContain(brokenEntry?.delivery.entryId);
    expect(applied).toBe("applied");
    expect(await redis.hget(keys.order(fine), "status")).toBe("PENDING");
  });
});

/** A connection of this test (closed when it ends) and a key prefix of its own. */
function connect(): { redis: Redis; keys: Keys } {
  const redis = new Redis(inject("redisUrl"));
  onTestFinished(async () => {
    await redis.quit();
  });
  return { redis, keys: createKeys(uniquePrefix("project")) };
}

/** Publishes events to their streams and reads them in the read model's group. */
async function deliverAll(
  redis: Redis,
  keys: Keys,
  events: readonly EventEnvelope[],
): Promise<ProjectedEntry[]> {
  const entries: ProjectedEntry[] = [];
  for (const event of events) {
    const stream = keys.partition(0).stream(event.type);
    await redis.xgroup("CREATE", stream, READ_MODEL_GROUP, "0", "MKSTREAM").catch(() => {});
    const entryId = (await redis.xadd(stream, "*", ...encodeEvent(event))) as string;
    const delivery = {
      stream,
      group: READ_MODEL_GROUP,
      entryId,
      failureKey: keys.partition(0).failure(stream, entryId),
    };
    entries.push({ delivery, projection: projectionOf(event) });
  }
  for (const stream of new Set(entries.map((entry) => entry.delivery.stream))) {
    await redis.xreadgroup("GROUP", READ_MODEL_GROUP, "c1", "STREAMS", stream, ">");
  }
  return entries;
}
