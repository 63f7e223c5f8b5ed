import { setTimeout as sleep } from "node:timers/promises";
import { uniquePrefix } from "@conveyor/testkit";
import { afterAll, describe, expect, inject, it } from "vitest";
import {
  groupLiveness,
  leaseKey,
  removeDeadConsumers,
  renewConsumerLease,
} from "./dead-consumers.ts";
import { createRedis, replyToRecord } from "./redis.ts";

const redis = createRedis(inject("redisUrl"), "commands", "dead-consumers-test");
afterAll(() => redis.disconnect());

/** Reads one new entry as `consumer`; acknowledges it unless told to leave it pending. */
async function readOne(stream: string, consumer: string, { ack }: { ack: boolean }) {
  const reply = (await redis.xreadgroup(
    "GROUP",
    "workers",
    consumer,
    "COUNT",
    1,
    "STREAMS",
    stream,
    ">",
  )) as Array<[string, Array<[string, string[]]>]> | null;
  const id = reply?.[0]?.[1][0]?.[0];
  if (ack && id) await redis.xack(stream, "workers", id);
}

async function consumersOf(stream: string) {
  const consumers = (await redis.xinfo("CONSUMERS", stream, "workers")) as unknown[];
  return consumers.map((raw) => String(replyToRecord(raw).name)).sort();
}

async function streamWithGroup(label: string, entryCount: number) {
  // Tagged like the pipeline's streams, so a stream and its lease key share a slot.
  const stream = `${uniquePrefix(label)}{orders}:stream`;
  await redis.xgroup("CREATE", stream, "workers", "0", "MKSTREAM");
  for (let i = 0; i < entryCount; i += 1) await redis.xadd(stream, "*", "n", String(i));
  return stream;
}

const lease = (stream: string, name: string, leaseMs: number) =>
  renewConsumerLease(redis, { streams: [stream], group: "workers", name, leaseMs });

describe("removing dead consumers", () => {
  it("removes consumers with nothing pending and no live lease, and keeps the others and itself", async () => {
    const stream = await streamWithGroup("dead-consumers", 5);
    await readOne(stream, "crashed-after-acking", { ack: true });
    await readOne(stream, "crashed-with-work", { ack: false });
    await readOne(stream, "alive", { ack: true });
    await readOne(stream, "lease-ran-out", { ack: true });
    await readOne(stream, "self", { ack: true });
    await lease(stream, "alive", 60_000);
    await lease(stream, "lease-ran-out", 50);
    await sleep(100);

    const removed = await removeDeadConsumers(redis, { stream, group: "workers", self: "self" });

    expect(removed.sort()).toEqual(["crashed-after-acking", "lease-ran-out"]);
    expect(await consumersOf(stream)).toEqual(["alive", "crashed-with-work", "self"]);
    const [pendingCount] = (await redis.xpending(stream, "workers")) as [number];
    expect(pendingCount).toBe(1);
    // Expired leases go too; live ones stay.
    expect(Object.keys(await redis.hgetall(leaseKey(stream, "workers")))).toEqual(["alive"]);
  });

  it("removes a crashed consumer once another has claimed its entries", async () => {
    const stream = await streamWithGroup("dead-consumers", 1);
    await lease(stream, "crashed", 50);
    await readOne(stream, "crashed", { ack: false });
    await sleep(100);
    expect(await removeDeadConsumers(redis, { stream, group: "workers", self: "rescuer" })).toEqual(
      [],
    );

    const [, claimed] = (await redis.xautoclaim(stream, "workers", "rescuer", 0, "0")) as [
      string,
      Array<[string, string[]]>,
    ];
    await redis.xack(stream, "workers", ...claimed.map(([id]) => id));

    expect(await removeDeadConsumers(redis, { stream, group: "workers", self: "rescuer" })).toEqual(
      ["crashed"],
    );
    expect(await consumersOf(stream)).toEqual(["rescuer"]);
  });
});

describe("groupLiveness", () => {
  it("counts the consumers with a live lease and ages the oldest pending entry", async () => {
    const stream = await streamWithGroup("liveness", 2);
    const liveness = () => groupLiveness(redis, { stream, group: "workers" });
    expect(await liveness()).toEqual({ liveConsumers: 0, oldestPendingAgeMs: null });

    await lease(stream, "alive", 60_000);
    await lease(stream, "expiring", 50);
    await readOne(stream, "alive", { ack: false });
    await sleep(120);
    const seen = await liveness();
    expect(seen.liveConsumers).toBe(1);
    // The entry was written before the sleep: at least that old, by Redis's clock.
    expect(seen.oldestPendingAgeMs).toBeGreaterThanOrEqual(100);
    expect(seen.oldestPendingAgeMs).toBeLessThan(60_000);
  });
});
