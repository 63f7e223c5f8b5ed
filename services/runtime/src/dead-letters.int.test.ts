import { createKeys, encodeEvent, fieldsToRecord, type Keys } from "@conveyor/contract";
import { orderCreated, uniquePrefix } from "@conveyor/testkit";
import { afterAll, describe, expect, inject, it } from "vitest";
import {
  isRedriveForOtherGroup,
  listDeadLetters,
  redeliverDeadLetter,
  redeliverDeadLetters,
} from "./dead-letters.ts";
import { createRedis } from "./redis.ts";
import { ackAndDeadLetter } from "./scripts.ts";

const redis = createRedis(inject("redisUrl"), "commands", "dead-letters-test");
afterAll(() => redis.disconnect());

/** Adds an entry to a stream and dead-letters it as a consumer would; resolves its entry id. */
async function deadLettered(
  keys: Keys,
  orderId: string,
  reason: string,
  groups: readonly string[] = ["inventory"],
): Promise<string> {
  const stream = keys.partition(0).stream("order.created");
  for (const group of groups) {
    await redis.xgroup("CREATE", stream, group, "0", "MKSTREAM").catch(() => {});
  }
  const fields = encodeEvent(orderCreated({ orderId }));
  const entryId = (await redis.xadd(stream, "*", ...fields)) as string;
  for (const group of groups) {
    await redis.xreadgroup("GROUP", group, "c-1", "STREAMS", stream, ">");
    await ackAndDeadLetter(
      redis,
      { stream, group, entryId, failureKey: keys.partition(0).failure(stream, entryId) },
      keys.partition(0).deadLetter,
      [
        ...["reason", reason, "stream", stream, "entryId", entryId, "group", group],
        ...["consumer", "c-1", "deliveries", "3", "deadLetteredAt", new Date().toISOString()],
        ...["orderId", orderId, "fields", JSON.stringify(fieldsToRecord(fields))],
      ],
    );
  }
  return entryId;
}

describe("dead letters", () => {
  it("lists dead letters newest first, a page at a time, with their fields", async () => {
    const keys = createKeys(uniquePrefix("dl-list"));
    for (const n of [1, 2, 3]) await deadLettered(keys, `o-${n}`, `reason ${n}`);

    const first = await listDeadLetters(redis, keys, { first: 2 });
    expect(first.deadLetters.map((letter) => letter.orderId)).toEqual(["o-3", "o-2"]);
    expect(first).toMatchObject({ hasNextPage: true, totalCount: 3 });
    expect(first.deadLetters[0]).toMatchObject({
      stream: keys.partition(0).stream("order.created"),
      streamType: "order.created",
      group: "inventory",
      reason: "reason 3",
      deliveryCount: 3,
      fields: { type: "order.created", orderId: "o-3" },
    });
    const second = await listDeadLetters(redis, keys, {
      first: 2,
      after: first.endCursor ?? undefined,
    });
    expect(second.deadLetters.map((letter) => letter.orderId)).toEqual(["o-1"]);
    expect(second.hasNextPage).toBe(false);
  });

  it("puts a dead letter back into its stream once, however many redrives race", async () => {
    const keys = createKeys(uniquePrefix("dl-once"));
    const originalId = await deadLettered(keys, "o-once", "boom");
    const [letter] = (await listDeadLetters(redis, keys, { first: 1 })).deadLetters;
    const id = letter?.id as string;

    const results = await Promise.all(
      Array.from({ length: 5 }, () => redeliverDeadLetter(redis, keys, id)),
    );
    expect(results.filter((result) => result.outcome === "redelivered")).toHaveLength(1);
    expect(results.filter((result) => result.outcome === "not-found")).toHaveLength(4);
    expect(await redeliverDeadLetter(redis, keys, id)).toEqual({ outcome: "not-found" });

    const entries = await redis.xrange(keys.partition(0).stream("order.created"), "-", "+");
    expect(entries).toHaveLength(2);
    const [original, redriven] = entries.map(([entryId, flat]) => ({
      entryId,
      fields: fieldsToRecord(flat),
    }));
    expect(original?.entryId).toBe(originalId);
    // The same event (same id, same trace context) as a new entry, for the group that failed.
    expect(redriven?.fields).toEqual({
      ...original?.fields,
      redrivenFrom: id,
      redrivenFor: "inventory",
    });
    expect(await redis.xlen(keys.partition(0).deadLetter)).toBe(0);

    // Dead-lettered again and redriven again: its redrive fields are replaced, not repeated.
    const stream = keys.partition(0).stream("order.created");
    const againId = redriven?.entryId as string;
    await redis.xreadgroup("GROUP", "inventory", "c-1", "STREAMS", stream, ">");
    await ackAndDeadLetter(
      redis,
      {
        stream,
        group: "inventory",
        entryId: againId,
        failureKey: keys.partition(0).failure(stream, againId),
      },
      keys.partition(0).deadLetter,
      [
        ...["reason", "again", "stream", stream, "entryId", againId, "group", "inventory"],
        ...["fields", JSON.stringify(redriven?.fields)],
      ],
    );
    const [again] = (await listDeadLetters(redis, keys, { first: 1 })).deadLetters;
    await redeliverDeadLetter(redis, keys, again?.id as string);
    const [, , third] = await redis.xrange(stream, "-", "+");
    const flat = third?.[1] ?? [];
    expect(flat.filter((name) => name === "redrivenFrom")).toHaveLength(1);
    expect(fieldsToRecord(flat)).toEqual({
      ...original?.fields,
      redrivenFrom: again?.id,
      redrivenFor: "inventory",
    });
  });

  it("puts an entry that several groups dead-lettered back once, for those groups only", async () => {
    const keys = createKeys(uniquePrefix("dl-groups"));
    await deadLettered(keys, "o-both", "field data is not valid JSON", ["inventory", "gateway"]);
    const letters = (await listDeadLetters(redis, keys, { first: 10 })).deadLetters;
    expect(letters.map((letter) => letter.group)).toEqual(["gateway", "inventory"]);

    const [first, second] = letters;
    expect(await redeliverDeadLetter(redis, keys, first?.id as string)).toMatchObject({
      outcome: "redelivered",
    });
    expect(await redeliverDeadLetter(redis, keys, second?.id as string)).toEqual({
      outcome: "not-found",
    });
    const entries = await redis.xrange(keys.partition(0).stream("order.created"), "-", "+");
    expect(entries).toHaveLength(2);
    const redriven = fieldsToRecord(entries[1]?.[1] ?? []);
    expect(redriven.redrivenFor?.split(",").sort()).toEqual(["gateway", "inventory"]);
    expect(await redis.xlen(keys.partition(0).deadLetter)).toBe(0);
    // The stream's other groups processed the original: they leave the redriven entry alone.
    expect(isRedriveForOtherGroup(redriven, "payment")).toBe(true);
    expect(isRedriveForOtherGroup(redriven, "gateway")).toBe(false);
    expect(isRedriveForOtherGroup({ type: "order.created" }, "payment")).toBe(false);
  });

  it("redrives by filter, oldest first, and a second bulk redrive finds nothing", async () => {
    const keys = createKeys(uniquePrefix("dl-bulk"));
    await deadLettered(keys, "o-a", "not processed after 5 deliveries");
    await deadLettered(keys, "o-b", "field data is not valid JSON");
    await deadLettered(keys, "o-c", "not processed after 5 deliveries");

    const filter = { streamType: "order.created" as const, reasonContains: "deliveries" };
    const [first, second] = await Promise.all([
      redeliverDeadLetters(redis, keys, filter, 100),
      redeliverDeadLetters(redis, keys, filter, 100),
    ]);
    const redriven = [...(first?.redelivered ?? []), ...(second?.redelivered ?? [])]
      .map(({ deadLetter }) => deadLetter.orderId)
      .sort();
    expect(redriven).toEqual(["o-a", "o-c"]);
    expect((await redeliverDeadLetters(redis, keys, filter, 100)).redelivered).toEqual([]);
    const left = await listDeadLetters(redis, keys, { first: 10 });
    expect(left.deadLetters.map((letter) => letter.orderId)).toEqual(["o-b"]);
  });

  it("refuses a dead letter that names no event stream, and an id that is not one", async () => {
    const keys = createKeys(uniquePrefix("dl-refuse"));
    const id = (await redis.xadd(
      keys.partition(0).deadLetter,
      "*",
      ...["reason", "x", "stream", `${keys.prefix}elsewhere`, "fields", '{"a":"b"}'],
    )) as string;
    expect(await redeliverDeadLetter(redis, keys, id)).toMatchObject({
      outcome: "not-redeliverable",
      reason: "it names no event stream",
    });
    expect(await redeliverDeadLetter(redis, keys, "not-an-id")).toEqual({ outcome: "not-found" });
    expect(await redis.exists(`${keys.prefix}elsewhere`)).toBe(0);
  });
});
