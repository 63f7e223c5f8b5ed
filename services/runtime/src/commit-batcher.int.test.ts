import { createKeys } from "@conveyor/contract";
import { uniquePrefix } from "@conveyor/testkit";
import { afterAll, describe, expect, inject, it, vi } from "vitest";
import { createCommitBatcher } from "./commit-batcher.ts";
import { createRedis } from "./redis.ts";
import { hashTagOf } from "./tick-batcher.ts";

/** How many script calls (`EVALSHA`) a spy on `sendCommand` saw. */
function scriptCalls(sent: { mock: { calls: unknown[][] } }): number {
  return sent.mock.calls.filter(([command]) => (command as { name: string }).name === "evalsha")
    .length;
}

const redis = createRedis(inject("redisUrl"), "commands", "commit-batcher-test");
afterAll(() => redis.disconnect());

const GROUP = "inventory";

/** A fresh input stream with `count` entries delivered to one consumer of the group. */
async function deliveredEntries(count: number) {
  const keys = createKeys(uniquePrefix("batcher"));
  const stream = keys.partition(0).stream("order.created");
  const output = keys.partition(0).stream("inventory.reserved");
  await redis.xgroup("CREATE", stream, GROUP, "0", "MKSTREAM");
  for (let index = 0; index < count; index += 1) {
    await redis.xadd(stream, "*", "n", String(index));
  }
  const reply = (await redis.xreadgroup(
    "GROUP",
    GROUP,
    "consumer-1",
    "COUNT",
    count,
    "STREAMS",
    stream,
    ">",
  )) as Array<[string, Array<[string, string[]]>]>;
  const entries = (reply[0]?.[1] ?? []).map(([entryId], index) => ({
    input: {
      stream,
      group: GROUP,
      entryId,
      failureKey: keys.partition(0).failure(stream, entryId),
      deliveryCount: 1,
    },
    outputs: [{ stream: output, fields: ["n", String(index)] }],
  }));
  return { keys, stream, output, entries };
}

async function outputNumbers(output: string): Promise<string[]> {
  const entries = await redis.xrange(output, "-", "+");
  return entries.map(([, fields]) => fields[1] as string);
}

describe("commit batcher", () => {
  it("commits the entries of one tick in one script call, each with its own result", async () => {
    const { stream, output, entries } = await deliveredEntries(30);
    const commit = createCommitBatcher(redis);
    const sent = vi.spyOn(redis, "sendCommand");
    try {
      const results = await Promise.all(entries.map((entry) => commit(entry.input, entry.outputs)));
      expect(results).toEqual(entries.map(() => true));
      expect(scriptCalls(sent)).toBe(1);
    } finally {
      sent.mockRestore();
    }
    expect(await outputNumbers(output)).toEqual(entries.map((_, index) => String(index)));
    const [pending] = (await redis.xpending(stream, GROUP)) as [number];
    expect(pending).toBe(0);
  });

  it("publishes only the entries of a batch that no other consumer acknowledged first", async () => {
    const { stream, output, entries } = await deliveredEntries(10);
    const alreadyAcked = entries.filter((_, index) => index % 3 === 0);
    await redis.xack(stream, GROUP, ...alreadyAcked.map((entry) => entry.input.entryId));
    const commit = createCommitBatcher(redis);
    const results = await Promise.all(entries.map((entry) => commit(entry.input, entry.outputs)));
    expect(results).toEqual(entries.map((_, index) => index % 3 !== 0));
    expect(await outputNumbers(output)).toEqual(["1", "2", "4", "5", "7", "8"]);
    // Committing the same entries again publishes nothing more.
    const again = await Promise.all(entries.map((entry) => commit(entry.input, entry.outputs)));
    expect(again.every((result) => result === false)).toBe(true);
    expect(await redis.xlen(output)).toBe(6);
  });

  it("fails only the entry whose own commit fails, and still commits the others", async () => {
    const { keys, stream, output, entries } = await deliveredEntries(3);
    const notAStream = `${keys.prefix}{orders}:not-a-stream`;
    await redis.set(notAStream, "x");
    const [first, broken, last] = entries as [
      (typeof entries)[0],
      (typeof entries)[0],
      (typeof entries)[0],
    ];
    const commit = createCommitBatcher(redis);
    const results = await Promise.allSettled([
      commit(first.input, first.outputs),
      commit(broken.input, [{ stream: notAStream, fields: ["n", "1"] }]),
      commit(last.input, last.outputs),
    ]);
    expect(results.map((result) => result.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/WRONGTYPE/);
    expect(await outputNumbers(output)).toEqual(["0", "2"]);
    const [pending] = (await redis.xpending(stream, GROUP)) as [number];
    expect(pending).toBe(0);
  });

  it("deletes the last handler error of a redelivered entry with its commit", async () => {
    const { entries } = await deliveredEntries(1);
    const [entry] = entries as [(typeof entries)[0]];
    await redis.set(entry.input.failureKey, "boom", "EX", 60);
    const commit = createCommitBatcher(redis);
    expect(await commit({ ...entry.input, deliveryCount: 2 }, entry.outputs)).toBe(true);
    expect(await redis.exists(entry.input.failureKey)).toBe(0);
  });

  it("splits a large batch into calls of at most maxEntries", async () => {
    const { output, entries } = await deliveredEntries(25);
    const commit = createCommitBatcher(redis, { maxEntries: 10 });
    const sent = vi.spyOn(redis, "sendCommand");
    try {
      const results = await Promise.all(entries.map((entry) => commit(entry.input, entry.outputs)));
      expect(results.every((result) => result === true)).toBe(true);
      expect(scriptCalls(sent)).toBe(3);
    } finally {
      sent.mockRestore();
    }
    expect(await redis.xlen(output)).toBe(25);
  });
});

describe("hashTagOf", () => {
  it("is the first non-empty braced part of a key, else the whole key", () => {
    expect(hashTagOf("conveyor:{orders}:order.created")).toBe("orders");
    expect(hashTagOf("conveyor:{}:x{a}")).toBe("conveyor:{}:x{a}");
    expect(hashTagOf("plain")).toBe("plain");
  });
});
