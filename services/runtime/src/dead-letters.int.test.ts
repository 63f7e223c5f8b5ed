import {
  createKeys,
  EVENT_TYPES,
  encodeEvent,
  fieldsToRecord,
  idInPartition,
  type Keys,
} from "@conveyor/contract";
import { orderCreated, uniquePrefix } from "@conveyor/testkit";
import { afterAll, describe, expect, inject, it } from "vitest";
import {
  getDeadLetter,
  isRedriveForOtherGroup,
  listDeadLetters,
  redeliverDeadLetter,
  redeliverDeadLetters,
} from "./dead-letters.ts";
import { createRedis } from "./redis.ts";
import { ackAndDeadLetter } from "./scripts.ts";

const redis = createRedis(inject("redisUrl"), "commands", "dead-letters-test");
afterAll(() => redis.disconnect());

/**
 * Adds an entry to its order's partition's `order.created` stream and dead-letters it as a
 * consumer would (into that partition's dead-letter stream); resolves its entry id.
 */
async function deadLettered(
  keys: Keys,
  orderId: string,
  reason: string,
  groups: readonly string[] = ["inventory"],
): Promise<string> {
  const partition = keys.forOrder(orderId);
  const stream = partition.stream("order.created");
  for (const group of groups) {
    await redis.xgroup("CREATE", stream, group, "0", "MKSTREAM").catch(() => {});
  }
  const fields = encodeEvent(orderCreated({ orderId }));
  const entryId = (await redis.xadd(stream, "*", ...fields)) as string;
  for (const group of groups) {
    await redis.xreadgroup("GROUP", group, "c-1", "STREAMS", stream, ">");
    await ackAndDeadLetter(
      redis,
      { stream, group, entryId, failureKey: partition.failure(stream, entryId) },
      partition.deadLetter,
      [
        ...["reason", reason, "stream", stream, "entryId", entryId, "group", group],
        ...["consumer", "c-1", "deliveries", "3", "deadLetteredAt", new Date().toISOString()],
        ...["orderId", orderId, "fields", JSON.stringify(fieldsToRecord(fields))],
      ],
    );
  }
  return entryId;
}

/** An order id of `label` that falls in partition `partition` of `keys`. */
function orderIn(keys: Keys, partition: number, label: string): string {
  let draws = 0;
  const next = () => {
    draws += 1;
    return `${label}-${draws}`;
  };
  return idInPartition(next, partition, keys.partitions.length);
}

/**
 * Dead-letters each order in turn, a millisecond apart: entries of two partitions written in
 * the same millisecond tie on time and sort by partition, not by which came first.
 */
async function deadLetteredInTurn(
  keys: Keys,
  orderIds: readonly string[],
  reasonOf: (n: number) => string,
) {
  for (const [n, orderId] of orderIds.entries()) {
    await deadLettered(keys, orderId, reasonOf(n));
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Every dead letter, newest first, read `first` at a time: the ids of each page. */
async function pagesOf(keys: Keys, first: number): Promise<string[][]> {
  const pages: string[][] = [];
  let after: string | undefined;
  for (;;) {
    const page = await listDeadLetters(redis, keys, { first, after });
    pages.push(page.deadLetters.map((letter) => letter.id));
    if (!page.hasNextPage) return pages;
    after = page.endCursor ?? undefined;
  }
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

describe("dead letters over four partitions", () => {
  it("lists the dead letters of every partition newest first, each id naming its partition", async () => {
    const keys = createKeys(uniquePrefix("dl-p4-list"), 4);
    const orders = [2, 0, 3, 2, 1].map((partition, n) => orderIn(keys, partition, `o-${n}`));
    await deadLetteredInTurn(keys, orders, (n) => `reason of ${orders[n]}`);

    const page = await listDeadLetters(redis, keys, { first: 10 });
    expect(page).toMatchObject({ totalCount: 5, hasNextPage: false });
    expect(page.deadLetters.map((letter) => letter.orderId)).toEqual([...orders].reverse());
    for (const letter of page.deadLetters) {
      const partition = keys.forOrder(letter.orderId as string);
      expect(letter.id).toMatch(new RegExp(`^${partition.index}/\\d+-\\d+$`));
      expect(letter).toMatchObject({
        partition: partition.index,
        stream: partition.stream("order.created"),
        streamType: "order.created",
        reason: `reason of ${letter.orderId}`,
      });
      expect(await getDeadLetter(redis, keys, letter.id)).toEqual(letter);
    }
    expect(await pagesOf(keys, 2)).toEqual([
      page.deadLetters.slice(0, 2).map((letter) => letter.id),
      page.deadLetters.slice(2, 4).map((letter) => letter.id),
      page.deadLetters.slice(4).map((letter) => letter.id),
    ]);
  });

  it("pages in one total order, entry id then partition, through equal entry ids", async () => {
    const keys = createKeys(uniquePrefix("dl-p4-order"), 4);
    const placed: Record<number, string[]> = {
      0: ["1000-0", "3000-0"],
      1: ["2000-0", "3000-0", "3000-1"],
      3: ["3000-0", "4000-0"],
    };
    for (const [partition, ids] of Object.entries(placed)) {
      for (const id of ids) {
        await redis.xadd(keys.partition(Number(partition)).deadLetter, id, "reason", "test");
      }
    }
    const newestFirst = ["3/4000-0", "1/3000-1", "3/3000-0", "1/3000-0", "0/3000-0"];
    newestFirst.push("1/2000-0", "0/1000-0");
    for (const first of [1, 2, 3, 4, 7, 8]) {
      const pages = await pagesOf(keys, first);
      expect(pages.flat(), `pages of ${first}`).toEqual(newestFirst);
      expect(pages.slice(0, -1).every((page) => page.length === first)).toBe(true);
    }
    // A dead letter redriven meanwhile does not shift the next page.
    const first = await listDeadLetters(redis, keys, { first: 3 });
    await redis.xdel(keys.partition(3).deadLetter, "3000-0");
    const second = await listDeadLetters(redis, keys, {
      first: 3,
      after: first.endCursor ?? undefined,
    });
    expect(second.deadLetters.map((letter) => letter.id)).toEqual(newestFirst.slice(3, 6));
    expect(second.totalCount).toBe(6);
  });

  it("redrives a dead letter into its own partition's stream, once", async () => {
    const keys = createKeys(uniquePrefix("dl-p4-redrive"), 4);
    const orderId = orderIn(keys, 2, "o-redrive");
    const originalId = await deadLettered(keys, orderId, "boom", ["inventory", "gateway"]);
    const letters = (await listDeadLetters(redis, keys, { first: 10 })).deadLetters;
    expect(letters.map((letter) => letter.partition)).toEqual([2, 2]);
    const id = letters[0]?.id as string;

    const results = await Promise.all(
      Array.from({ length: 5 }, () => redeliverDeadLetter(redis, keys, id)),
    );
    expect(results.filter((result) => result.outcome === "redelivered")).toHaveLength(1);
    expect(await redeliverDeadLetter(redis, keys, letters[1]?.id as string)).toEqual({
      outcome: "not-found",
    });
    const entries = await redis.xrange(keys.partition(2).stream("order.created"), "-", "+");
    expect(entries.map(([entryId]) => entryId)[0]).toBe(originalId);
    expect(fieldsToRecord(entries[1]?.[1] ?? [])).toMatchObject({
      orderId,
      redrivenFrom: id,
    });
    expect(
      fieldsToRecord(entries[1]?.[1] ?? [])
        .redrivenFor?.split(",")
        .sort(),
    ).toEqual(["gateway", "inventory"]);
    for (const partition of keys.partitions) {
      expect(await redis.xlen(partition.deadLetter)).toBe(0);
      if (partition.index === 2) continue;
      for (const type of EVENT_TYPES) expect(await redis.exists(partition.stream(type))).toBe(0);
    }
  });

  it("never redrives into another partition's stream, nor by an id of another layout", async () => {
    const keys = createKeys(uniquePrefix("dl-p4-refuse"), 4);
    const elsewhere = keys.partition(2).stream("order.created");
    const entryId = (await redis.xadd(
      keys.partition(1).deadLetter,
      "*",
      ...["reason", "x", "stream", elsewhere, "entryId", "1-0", "fields", '{"a":"b"}'],
    )) as string;
    const id = `1/${entryId}`;
    expect(await getDeadLetter(redis, keys, id)).toMatchObject({
      stream: elsewhere,
      streamType: null,
    });
    expect(await redeliverDeadLetter(redis, keys, id)).toMatchObject({
      outcome: "not-redeliverable",
      reason: "it names another partition's stream",
    });
    expect(await redis.exists(elsewhere)).toBe(0);

    for (const other of [entryId, `2/${entryId}`, `4/${entryId}`, `01/${entryId}`]) {
      expect(await getDeadLetter(redis, keys, other)).toBeUndefined();
      expect(await redeliverDeadLetter(redis, keys, other)).toEqual({ outcome: "not-found" });
    }
    await expect(listDeadLetters(redis, keys, { first: 1, after: entryId })).rejects.toThrow(
      RangeError,
    );
    expect(await redis.xlen(keys.partition(1).deadLetter)).toBe(1);
  });

  it("redrives by filter over every partition, oldest first, each once", async () => {
    const keys = createKeys(uniquePrefix("dl-p4-bulk"), 4);
    const orders = [3, 1, 1, 0, 2, 3].map((partition, n) => orderIn(keys, partition, `o-${n}`));
    await deadLetteredInTurn(keys, orders, (n) =>
      n === 2 ? "invalid" : "not processed after 5 deliveries",
    );
    const filter = { reasonContains: "deliveries" };

    const limited = await redeliverDeadLetters(redis, keys, filter, 2);
    expect(limited.redelivered.map(({ deadLetter }) => deadLetter.orderId)).toEqual(
      orders.slice(0, 2),
    );
    const [first, second] = await Promise.all([
      redeliverDeadLetters(redis, keys, filter, 100),
      redeliverDeadLetters(redis, keys, filter, 100),
    ]);
    const rest = [...(first?.redelivered ?? []), ...(second?.redelivered ?? [])];
    expect(rest.map(({ deadLetter }) => deadLetter.orderId).sort()).toEqual(
      [orders[3], orders[4], orders[5]].sort(),
    );
    for (const { deadLetter, entryId } of [...limited.redelivered, ...rest]) {
      const stream = keys.forOrder(deadLetter.orderId as string).stream("order.created");
      expect(await redis.xrange(stream, entryId, entryId)).toHaveLength(1);
    }
    const left = await listDeadLetters(redis, keys, { first: 10 });
    expect(left.deadLetters.map((letter) => letter.orderId)).toEqual([orders[2]]);
    expect(left.totalCount).toBe(1);
  });
});
