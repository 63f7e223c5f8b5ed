import { setTimeout as sleep } from "node:timers/promises";
import { createEvent, createKeys, encodeEvent, type ServiceName } from "@conveyor/contract";
import { type RedisServer, startRedisServer, waitFor } from "@conveyor/testkit";
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it, onTestFinished } from "vitest";
import { z } from "zod";
import { workerEnvShape } from "./env.ts";
import { createWorker, type Worker } from "./worker.ts";

// A Redis of its own: used_memory is per server, and other tests' data would blur it.
let server: RedisServer;
let redis: Redis;
beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url);
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

const keys = createKeys("bounded:");
// payment.processed is read by two groups: shipment, and the gateway's read model.
const stream = keys.partition(0).stream("payment.processed");

/** Entries shaped like real payment.processed events, distinct ids, cheap to make in bulk. */
function entryFields(): (n: number) => string[] {
  const template = encodeEvent(
    createEvent({
      type: "payment.processed",
      orderId: "template",
      producer: "payment",
      data: {
        paymentId: "pay_0123456789abcdef01234567",
        reservationId: "rsv_00000000-0000-0000-0000-000000000000",
        amountCents: 8999,
        currency: "USD",
        items: [{ sku: "KB-001", quantity: 1, unitPriceCents: 8999 }],
      },
    }),
  );
  return (n) => {
    const fields = [...template];
    fields[1] = `evt-${n}`;
    fields[5] = `order-${n}`;
    return fields;
  };
}

async function addEntries(from: number, count: number, make: (n: number) => string[]) {
  const ids: string[] = [];
  for (let start = from; start < from + count; start += 5_000) {
    const pipeline = redis.pipeline();
    for (let n = start; n < Math.min(from + count, start + 5_000); n += 1) {
      pipeline.xadd(stream, "*", ...make(n));
    }
    for (const [error, id] of (await pipeline.exec()) ?? []) {
      if (error) throw error;
      ids.push(id as string);
    }
  }
  return ids;
}

const msOf = (entryId: string) => Number(entryId.split("-")[0]);

async function usedMemory(): Promise<number> {
  const info = await redis.info("memory");
  return Number(/used_memory:(\d+)/.exec(info)?.[1]);
}

/** A worker of one group over the stream, counting the entries its handler receives. */
async function startGroup(name: ServiceName, seen: Set<string>): Promise<Worker> {
  const env = z.object(workerEnvShape).parse({
    REDIS_URL: server.url,
    STREAM_PREFIX: keys.prefix,
    HEALTH_PORT: "0",
    HEALTH_HOST: "127.0.0.1",
    LOG_LEVEL: "silent",
    CONSUMER_NAME: `${name}-${Date.now()}`,
    CONCURRENCY: "500",
    BATCH_SIZE: "500",
    BLOCK_MS: "200",
    // Trims often enough that a round of 1,000 entries never waits long for the next trim.
    TRIM_INTERVAL_MS: "50",
  });
  const worker = createWorker({
    name,
    env,
    streams: ["payment.processed"],
    createHandler: () => async (_event, delivery) => {
      seen.add(delivery.entryId);
      return [];
    },
  });
  onTestFinished(() => worker.stop());
  await worker.start();
  return worker;
}

it("keeps streams short and Redis memory flat under load, yet a group stopped for a 50,000-entry backlog gets every entry back", async () => {
  const make = entryFields();
  const byShipment = new Set<string>();
  const byGateway = new Set<string>();
  await startGroup("gateway", byGateway);
  let shipment = await startGroup("shipment", byShipment);

  // Sustained load: 24 rounds of 1,000 entries, each as soon as both groups caught up.
  const rounds = 24;
  const lengths: number[] = [];
  const memory: number[] = [];
  let added = 0;
  for (let round = 0; round < rounds; round += 1) {
    await addEntries(added, 1_000, make);
    added += 1_000;
    await waitFor("both groups to keep up", () =>
      byShipment.size >= added - 1_000 && byGateway.size >= added - 1_000 ? true : undefined,
    );
    lengths.push(await redis.xlen(stream));
    memory.push(await usedMemory());
  }
  // Without trimming the stream would hold all 24,000 entries; it never held more than a few
  // rounds' worth, and memory late in the run is where it was a third of the way in (flat
  // within a tenth of what the untrimmed entries alone would take).
  const bytesPerEntry =
    Number(await redis.memory("USAGE", stream, "SAMPLES", "0")) / (await redis.xlen(stream));
  expect(Math.max(...lengths)).toBeLessThan(5_000);
  const early = Math.max(...memory.slice(0, rounds / 3));
  const late = Math.max(...memory.slice((2 * rounds) / 3));
  expect(late - early).toBeLessThan((bytesPerEntry * added) / 10);

  // shipment stops; 50,000 entries arrive while the gateway keeps reading and trimming.
  await waitFor("the load to be consumed", () =>
    byShipment.size === added && byGateway.size === added ? true : undefined,
  );
  await shipment.stop();
  const beforeBacklog = await usedMemory();
  const backlog = await addEntries(added, 50_000, make);
  added += 50_000;
  await waitFor(
    "the gateway to read the backlog",
    () => byGateway.size === added || undefined,
    45_000,
  );
  // Several trimming rounds of the gateway, which reads this stream too, go by.
  await sleep(1_000);
  expect(await redis.xlen(stream)).toBeGreaterThanOrEqual(50_000);
  const withBacklog = await usedMemory();
  expect(withBacklog).toBeGreaterThan(beforeBacklog + 5_000_000);
  const [oldestKept] = await redis.xrange(stream, "-", "+", "COUNT", 1);
  expect(msOf(oldestKept?.[0] ?? "")).toBeLessThanOrEqual(msOf(backlog[0] as string));

  // shipment comes back: it gets the whole backlog, then the stream is trimmed again.
  const afterReturn = new Set<string>();
  shipment = await startGroup("shipment", afterReturn);
  await waitFor(
    "shipment to work off its backlog",
    () => afterReturn.size >= 50_000 || undefined,
    45_000,
  );
  expect(backlog.filter((id) => !afterReturn.has(id))).toEqual([]);
  expect(afterReturn.size).toBe(50_000);
  await waitFor(
    "the stream to be trimmed",
    async () => (await redis.xlen(stream)) < 1_000 || undefined,
  );
  expect(await usedMemory()).toBeLessThan(beforeBacklog + 1_000_000);
}, 90_000);
