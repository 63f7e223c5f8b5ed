import { setTimeout as sleep } from "node:timers/promises";
import {
  createEvent,
  createKeys,
  decodeEvent,
  type EventEnvelope,
  encodeEvent,
  fieldsToRecord,
  type Keys,
  NonRetryableError,
} from "@conveyor/contract";
import { startRedisServer, uniquePrefix, waitFor } from "@conveyor/testkit";
import type { Redis } from "ioredis";
import { pino } from "pino";
import { afterEach, describe, expect, inject, it } from "vitest";
import { createStreamConsumer, type Handler, type StreamConsumer } from "./consumer.ts";
import { type Publication, publishWithAck } from "./publish.ts";
import { createRedis, type RedisClient, replyToRecord } from "./redis.ts";

const redisUrl = inject("redisUrl");
const logger = pino({ level: "silent" });
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

function orderCreated(orderId: string, customerId = "c-1"): EventEnvelope {
  return createEvent({
    type: "order.created",
    orderId,
    producer: "gateway",
    data: {
      customerId,
      items: [{ sku: "KB-001", quantity: 1, unitPriceCents: 1000 }],
      totalCents: 1000,
      currency: "USD",
      paymentToken: "tok_visa",
    },
  });
}

function reserved(input: EventEnvelope): EventEnvelope {
  return createEvent({
    type: "inventory.reserved",
    orderId: input.orderId,
    producer: "inventory",
    data: {
      reservationId: `r-${input.orderId}`,
      items: [{ sku: "KB-001", quantity: 1, unitPriceCents: 1000 }],
      totalCents: 1000,
      currency: "USD",
      paymentToken: "tok_visa",
    },
  });
}

interface Setup {
  redis: RedisClient;
  keys: Keys;
  start(
    handle: Handler<Publication>,
    options?: {
      consumer?: string;
      concurrency?: number;
      claimIdleMs?: number;
      maxDeliveries?: number;
    },
  ): Promise<StreamConsumer>;
  add(event: EventEnvelope): Promise<string>;
  addRaw(fields: string[]): Promise<string>;
  outputs(): Promise<EventEnvelope[]>;
  deadLetters(): Promise<Array<Record<string, string>>>;
  pendingCount(): Promise<number>;
}

async function setup(): Promise<Setup> {
  const redis = createRedis(redisUrl, "commands", "test");
  const keys = createKeys(uniquePrefix("consumer"));
  cleanups.push(async () => {
    redis.disconnect();
  });
  const input = keys.partition(0).stream("order.created");
  return {
    redis,
    keys,
    async start(handle, options = {}) {
      const consumer = createStreamConsumer({
        redis,
        openBlockingConnection: () => createRedis(redisUrl, "blocking", "test"),
        keys: keys.partition(0),
        group: "inventory",
        consumer: options.consumer ?? "consumer-1",
        streams: ["order.created"],
        handle,
        commit: publishWithAck(redis, keys.partition(0)),
        logger,
        blockMs: 200,
        claimIdleMs: options.claimIdleMs ?? 300,
        claimIntervalMs: 100,
        maxDeliveries: options.maxDeliveries ?? 3,
        concurrency: options.concurrency ?? 16,
      });
      await consumer.start();
      cleanups.push(() => consumer.stop());
      return consumer;
    },
    add: (event) => redis.xadd(input, "*", ...encodeEvent(event)) as Promise<string>,
    addRaw: (fields) => redis.xadd(input, "*", ...fields) as Promise<string>,
    async outputs() {
      const entries = await redis.xrange(keys.partition(0).stream("inventory.reserved"), "-", "+");
      return entries.map(([, fields]) => {
        const decoded = decodeEvent(fieldsToRecord(fields));
        if (!decoded.ok) throw new Error(decoded.reason);
        return decoded.event;
      });
    },
    async deadLetters() {
      const entries = await redis.xrange(keys.partition(0).deadLetter, "-", "+");
      return entries.map(([, fields]) => fieldsToRecord(fields));
    },
    async pendingCount() {
      const [count] = (await redis.xpending(input, "inventory")) as [number];
      return Number(count);
    },
  };
}

async function consumerNames(t: Setup, stream: string): Promise<string[]> {
  const consumers = (await t.redis.xinfo("CONSUMERS", stream, "inventory")) as unknown[];
  return consumers.map((raw) => String(replyToRecord(raw).name)).sort();
}

describe("stream consumer", () => {
  it("publishes a handler's events atomically with the ack, once per entry", async () => {
    const t = await setup();
    await t.start(async (event) => [reserved(event)]);
    for (let i = 0; i < 20; i += 1) await t.add(orderCreated(`o-${i}`));
    const outputs = await waitFor("20 outputs", async () => {
      const found = await t.outputs();
      return found.length === 20 && found;
    });
    expect(new Set(outputs.map((event) => event.orderId)).size).toBe(20);
    expect(await t.pendingCount()).toBe(0);
  });

  it("processes entries published before the group existed", async () => {
    const t = await setup();
    await t.add(orderCreated("early"));
    await t.start(async (event) => [reserved(event)]);
    await waitFor("the early entry's output", async () => (await t.outputs()).length === 1);
  });

  it("overlaps slow handlers up to the concurrency limit", async () => {
    const t = await setup();
    let inFlight = 0;
    let peak = 0;
    await t.start(
      async (event) => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        await sleep(300);
        inFlight -= 1;
        return [reserved(event)];
      },
      { concurrency: 10, claimIdleMs: 30_000 },
    );
    for (let i = 0; i < 30; i += 1) await t.add(orderCreated(`slow-${i}`));
    await waitFor("30 outputs", async () => (await t.outputs()).length === 30);
    expect(peak).toBe(10);
  });

  it("leaves an entry pending when its handler throws, and retries it until it succeeds", async () => {
    const t = await setup();
    let attempts = 0;
    await t.start(async (event) => {
      attempts += 1;
      if (attempts < 3) throw new Error("payment processor unreachable");
      return [reserved(event)];
    });
    const entryId = await t.add(orderCreated("flaky"));
    await waitFor("the output after retries", async () => (await t.outputs()).length === 1, 10_000);
    expect(attempts).toBe(3);
    expect(await t.deadLetters()).toEqual([]);
    expect(await t.pendingCount()).toBe(0);
    // The last error was recorded for the dead-letter reason; the successful commit removed it.
    const failureKey = t.keys
      .partition(0)
      .failure(t.keys.partition(0).stream("order.created"), entryId);
    expect(await t.redis.exists(failureKey)).toBe(0);
  });

  it("dead-letters a poison entry after maxDeliveries with its last error, and goes on", async () => {
    const t = await setup();
    await t.start(async (event) => {
      if (event.orderId === "poison") throw new Error("cannot handle this order");
      return [reserved(event)];
    });
    await t.add(orderCreated("poison"));
    await t.add(orderCreated("healthy"));
    const [letter] = await waitFor(
      "a dead letter",
      async () => {
        const letters = await t.deadLetters();
        return letters.length > 0 && letters;
      },
      15_000,
    );
    expect(letter?.reason).toMatch(/not processed after 3 deliveries/);
    expect(letter?.lastError).toBe("cannot handle this order");
    expect(letter?.orderId).toBe("poison");
    expect(Number(letter?.deliveries)).toBe(4);
    expect((await t.outputs()).map((event) => event.orderId)).toEqual(["healthy"]);
    await waitFor("nothing pending", async () => (await t.pendingCount()) === 0);
  });

  it("dead-letters malformed entries at once with the reason", async () => {
    const t = await setup();
    await t.start(async (event) => [reserved(event)]);
    await t.addRaw(["type", "order.created", "data", "{not json"]);
    await t.addRaw(["type", "order.shipped", "data", "{}"]);
    const missing = encodeEvent(orderCreated("bad-fields"));
    missing.splice(missing.indexOf("orderId"), 2);
    await t.addRaw(missing);
    await t.add(orderCreated("good"));
    const letters = await waitFor("three dead letters", async () => {
      const found = await t.deadLetters();
      return found.length === 3 && found;
    });
    expect(letters.map((letter) => letter.reason)).toEqual([
      "field data is not valid JSON",
      'unknown event type "order.shipped"',
      expect.stringMatching(/invalid order.created event: .*orderId/s),
    ]);
    expect(letters.every((letter) => letter.deliveries === "1")).toBe(true);
    expect(JSON.parse(letters[0]?.fields ?? "{}")).toEqual({
      type: "order.created",
      data: "{not json",
    });
    await waitFor("the good entry's output", async () => (await t.outputs()).length === 1);
  });

  it("dead-letters at once when a handler throws NonRetryableError", async () => {
    const t = await setup();
    let attempts = 0;
    await t.start(async () => {
      attempts += 1;
      throw new NonRetryableError("order references a retired catalog");
    });
    await t.add(orderCreated("final"));
    const [letter] = await waitFor("a dead letter", async () => {
      const found = await t.deadLetters();
      return found.length > 0 && found;
    });
    expect(letter?.reason).toBe("order references a retired catalog");
    expect(attempts).toBe(1);
  });

  it("claims the entries of a consumer that died before acking, and does each once", async () => {
    const t = await setup();
    const input = t.keys.partition(0).stream("order.created");
    await t.redis.xgroup("CREATE", input, "inventory", "0", "MKSTREAM");
    for (let i = 0; i < 5; i += 1) await t.add(orderCreated(`orphan-${i}`));
    // A consumer that reads and dies: its entries stay pending with it.
    await t.redis.xreadgroup(
      "GROUP",
      "inventory",
      "dead-consumer",
      "COUNT",
      10,
      "STREAMS",
      input,
      ">",
    );
    await t.start(async (event) => [reserved(event)], { consumer: "live-consumer" });
    const outputs = await waitFor("5 outputs", async () => {
      const found = await t.outputs();
      return found.length === 5 && found;
    });
    expect(outputs.map((event) => event.orderId).sort()).toEqual([
      "orphan-0",
      "orphan-1",
      "orphan-2",
      "orphan-3",
      "orphan-4",
    ]);
    expect(await t.pendingCount()).toBe(0);
    // With its entries done, the dead consumer (no lease, nothing pending) leaves the group.
    await waitFor("the dead consumer to be removed", async () => {
      const names = await consumerNames(t, input);
      return names.length === 1 && names[0] === "live-consumer";
    });
  });

  it("never removes a live consumer, busy or idle, however long it waits for entries", async () => {
    const t = await setup();
    const input = t.keys.partition(0).stream("order.created");
    await t.start(async (event) => [reserved(event)], { consumer: "replica-a" });
    await t.start(async (event) => [reserved(event)], { consumer: "replica-b" });
    for (let i = 0; i < 20; i += 1) await t.add(orderCreated(`both-${i}`));
    await waitFor("20 outputs", async () => (await t.outputs()).length === 20);
    const readers = await consumerNames(t, input);
    // Many claim intervals (100 ms) and lease lengths (300 ms) with nothing to read.
    await sleep(2_000);
    expect(await consumerNames(t, input)).toEqual(readers);
    expect(readers.length).toBeGreaterThan(0);
  });

  it("claims entries around its own fresher pending entry without dead-lettering any", async () => {
    const t = await setup();
    const input = t.keys.partition(0).stream("order.created");
    await t.redis.xgroup("CREATE", input, "inventory", "0", "MKSTREAM");
    await t.add(orderCreated("e1"));
    const e2 = await t.add(orderCreated("e2"));
    await t.add(orderCreated("e3"));
    // A dead consumer read all three; e2 was re-claimed by the live consumer just now, so it is
    // pending on it but not idle: the claim of e1 and e3 must not be confused by it.
    await t.redis.xreadgroup(
      "GROUP",
      "inventory",
      "dead-consumer",
      "COUNT",
      3,
      "STREAMS",
      input,
      ">",
    );
    await sleep(400);
    await (t.redis as Redis).xclaim(input, "inventory", "live-consumer", 0, e2);
    await t.start(async (event) => [reserved(event)], { consumer: "live-consumer" });
    await waitFor("3 outputs", async () => (await t.outputs()).length === 3);
    expect(await t.deadLetters()).toEqual([]);
  });

  it("acknowledges pending entries that were deleted before they could be claimed", async () => {
    const t = await setup();
    const input = t.keys.partition(0).stream("order.created");
    await t.redis.xgroup("CREATE", input, "inventory", "0", "MKSTREAM");
    const id = await t.add(orderCreated("deleted"));
    await t.redis.xreadgroup(
      "GROUP",
      "inventory",
      "dead-consumer",
      "COUNT",
      10,
      "STREAMS",
      input,
      ">",
    );
    await t.redis.xdel(input, id);
    await t.start(async (event) => [reserved(event)], { consumer: "live-consumer" });
    await waitFor(
      "the deleted entry to be acknowledged",
      async () => (await t.pendingCount()) === 0,
    );
    expect(await t.outputs()).toEqual([]);
  });

  it("recreates its group when the stream is deleted under it (NOGROUP)", async () => {
    const t = await setup();
    await t.start(async (event) => [reserved(event)]);
    await t.add(orderCreated("before"));
    await waitFor("first output", async () => (await t.outputs()).length === 1);
    await t.redis.del(t.keys.partition(0).stream("order.created"));
    await sleep(300);
    await waitFor("the group to be recreated", async () => {
      const groups = (await t.redis
        .xinfo("GROUPS", t.keys.partition(0).stream("order.created"))
        .catch(() => [])) as unknown[];
      return groups.length === 1;
    });
    await t.add(orderCreated("after"));
    await waitFor("output after recovery", async () => (await t.outputs()).length === 2);
  });

  it("finishes in-flight entries when stopped, and reads nothing more", async () => {
    const t = await setup();
    const consumer = await t.start(async (event) => {
      await sleep(400);
      return [reserved(event)];
    });
    for (let i = 0; i < 8; i += 1) await t.add(orderCreated(`drain-${i}`));
    await waitFor("entries in flight", () => consumer.inFlight === 8);
    await consumer.stop();
    expect((await t.outputs()).length).toBe(8);
    expect(await t.pendingCount()).toBe(0);
    await t.add(orderCreated("after-stop"));
    await sleep(300);
    expect((await t.outputs()).length).toBe(8);
  });

  it("leaves its group on a clean stop, but never while it owns pending entries", async () => {
    const t = await setup();
    const consumersOf = async () =>
      (
        (await t.redis.xinfo(
          "CONSUMERS",
          t.keys.partition(0).stream("order.created"),
          "inventory",
        )) as unknown[]
      ).length;
    const clean = await t.start(async (event) => [reserved(event)], { consumer: "clean" });
    await t.add(orderCreated("first"));
    await waitFor("first output", async () => (await t.outputs()).length === 1);
    expect(await consumersOf()).toBe(1);
    await clean.stop();
    expect(await consumersOf()).toBe(0);

    const failing = await t.start(
      async () => {
        throw new Error("processor down");
      },
      { consumer: "failing", claimIdleMs: 60_000 },
    );
    await t.add(orderCreated("stuck"));
    await waitFor("the entry to be pending", async () => (await t.pendingCount()) === 1);
    await failing.stop();
    expect(await consumersOf()).toBe(1);
    expect(await t.pendingCount()).toBe(1);
  });

  it("stops within its stop timeout even when Redis has gone away", async () => {
    const server = await startRedisServer();
    cleanups.push(() => server.stop());
    const redis = createRedis(server.url, "commands", "test");
    redis.on("error", () => {});
    cleanups.push(async () => redis.disconnect());
    const keys = createKeys(uniquePrefix("gone"));
    const consumer = createStreamConsumer({
      redis,
      openBlockingConnection: () => createRedis(server.url, "blocking", "test"),
      keys: keys.partition(0),
      group: "inventory",
      consumer: "c1",
      streams: ["order.created"],
      handle: async (event) => [reserved(event)],
      commit: publishWithAck(redis, keys.partition(0)),
      logger,
      blockMs: 500,
      stopTimeoutMs: 2_000,
    });
    await consumer.start();
    await server.kill();
    const stopped = await Promise.race([
      consumer.stop().then(() => "stopped"),
      sleep(8_000, "hung"),
    ]);
    expect(stopped).toBe("stopped");
  });
});
