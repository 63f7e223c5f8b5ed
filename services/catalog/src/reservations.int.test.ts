import { createKeys, type Keys, type OrderLine } from "@conveyor/contract";
import { uniquePrefix } from "@conveyor/testkit";
import { Redis } from "ioredis";
import { afterAll, beforeEach, describe, expect, inject, it, vi } from "vitest";
import { getProducts, restock } from "./products.ts";
import { createStockReserver, releaseStock, reserveStock } from "./reservations.ts";
import { seedCatalog } from "./seed.ts";

/** How many script calls (`EVALSHA`) a spy on `sendCommand` saw. */
function scriptCalls(sent: { mock: { calls: unknown[][] } }): number {
  return sent.mock.calls.filter(([command]) => (command as { name: string }).name === "evalsha")
    .length;
}

const redisUrl = inject("redisUrl");
const redis = new Redis(redisUrl);
afterAll(() => redis.quit());

let keys: Keys;
beforeEach(async () => {
  keys = createKeys(uniquePrefix("reserve"));
  await seedCatalog(redis, keys, { initialStock: 10 });
});

const line = (sku: string, quantity: number): OrderLine => ({ sku, quantity, unitPriceCents: 100 });

async function stockOf(...skus: string[]): Promise<number[]> {
  const products = await getProducts(redis, keys, skus);
  return skus.map((sku) => products.get(sku)?.stock ?? Number.NaN);
}

describe("reserveStock", () => {
  it("reserves every line and takes the units out of stock", async () => {
    const result = await reserveStock(redis, keys, "o-1", [line("KB-001", 3), line("MS-001", 1)]);
    expect(result).toEqual({ status: "reserved", reservationId: expect.stringMatching(/^rsv_/) });
    expect(await stockOf("KB-001", "MS-001")).toEqual([7, 9]);
  });

  it("sums lines that repeat a sku before checking stock", async () => {
    const result = await reserveStock(redis, keys, "o-1", [line("KB-001", 6), line("KB-001", 5)]);
    expect(result).toEqual({
      status: "rejected",
      reason: "INSUFFICIENT_STOCK",
      lines: [{ sku: "KB-001", requested: 11, available: 10 }],
    });
    await reserveStock(redis, keys, "o-2", [line("KB-001", 6), line("KB-001", 4)]);
    expect(await stockOf("KB-001")).toEqual([0]);
  });

  it("reserves nothing when one line is short, and names the short line", async () => {
    const result = await reserveStock(redis, keys, "o-1", [line("KB-001", 2), line("MS-001", 11)]);
    expect(result).toEqual({
      status: "rejected",
      reason: "INSUFFICIENT_STOCK",
      lines: [{ sku: "MS-001", requested: 11, available: 10 }],
    });
    expect(await stockOf("KB-001", "MS-001")).toEqual([10, 10]);
  });

  it("rejects an unknown sku before looking at stock, reserving nothing", async () => {
    const result = await reserveStock(redis, keys, "o-1", [
      line("KB-001", 1),
      line("ZZ-404", 1),
      line("MS-001", 50),
    ]);
    expect(result).toEqual({
      status: "rejected",
      reason: "UNKNOWN_SKU",
      lines: [{ sku: "ZZ-404", requested: 1, available: null }],
    });
    expect(await stockOf("KB-001", "MS-001")).toEqual([10, 10]);
    expect(await redis.hexists(keys.stock, "ZZ-404")).toBe(0);
  });

  it("returns the first decision on a redelivery and never reserves twice", async () => {
    const lines = [line("KB-001", 4)];
    const first = await reserveStock(redis, keys, "o-1", lines);
    const again = await reserveStock(redis, keys, "o-1", lines);
    expect(again).toEqual(first);
    expect(await stockOf("KB-001")).toEqual([6]);
  });

  it("keeps a rejection on a redelivery even after a restock", async () => {
    const first = await reserveStock(redis, keys, "o-1", [line("KB-001", 12)]);
    await restock(redis, keys, "KB-001", 100);
    expect(await reserveStock(redis, keys, "o-1", [line("KB-001", 12)])).toEqual(first);
    expect(await stockOf("KB-001")).toEqual([110]);
  });

  it("records the reservation with its status, lines and id", async () => {
    const lines = [line("KB-001", 2), line("WC-001", 1)];
    const result = await reserveStock(redis, keys, "o-1", lines);
    const record = await redis.hgetall(keys.reservation("o-1"));
    expect(record.status).toBe("reserved");
    expect(record.reservationId).toBe(result.status === "reserved" && result.reservationId);
    expect(JSON.parse(record.items ?? "null")).toEqual(lines);
  });

  it("refuses empty orders and non-positive quantities without recording a decision", async () => {
    await expect(reserveStock(redis, keys, "o-1", [])).rejects.toThrow(RangeError);
    await expect(reserveStock(redis, keys, "o-1", [line("KB-001", 0)])).rejects.toThrow(RangeError);
    expect(await redis.exists(keys.reservation("o-1"))).toBe(0);
  });

  it("hands out exactly the stock there is when 200 orders race on four connections", async () => {
    const raceKeys = createKeys(uniquePrefix("race"));
    await seedCatalog(redis, raceKeys, { initialStock: 20 });
    const connections = Array.from({ length: 4 }, () => new Redis(redisUrl));
    try {
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, index) =>
          reserveStock(connections[index % 4] as Redis, raceKeys, `race-${index}`, [
            line("DK-001", 1),
          ]),
        ),
      );
      const reserved = results.filter((result) => result.status === "reserved");
      expect(reserved).toHaveLength(20);
      expect(new Set(reserved.map((result) => result.reservationId)).size).toBe(20);
      expect(results.filter((result) => result.status === "rejected")).toHaveLength(180);
      const stock = (await getProducts(redis, raceKeys, ["DK-001"])).get("DK-001")?.stock;
      expect(stock).toBe(0);
    } finally {
      await Promise.all(connections.map((connection) => connection.quit()));
    }
  });
});

describe("createStockReserver", () => {
  it("decides the orders asked for together in one script call, in turn, never overselling", async () => {
    const reserve = createStockReserver(redis, keys);
    const sent = vi.spyOn(redis, "sendCommand");
    try {
      const results = await Promise.all([
        reserve("b-1", [line("KB-001", 4)]),
        reserve("b-2", [line("KB-001", 4), line("MS-001", 2)]),
        reserve("b-3", [line("KB-001", 4)]),
        reserve("b-4", [line("NOPE-1", 1)]),
        reserve("b-1", [line("KB-001", 4)]),
      ]);
      expect(scriptCalls(sent)).toBe(1);
      expect(results.map((result) => result.status)).toEqual([
        "reserved",
        "reserved",
        "rejected",
        "rejected",
        "reserved",
      ]);
      expect(results[2]).toEqual({
        status: "rejected",
        reason: "INSUFFICIENT_STOCK",
        lines: [{ sku: "KB-001", requested: 4, available: 2 }],
      });
      expect(results[3]).toMatchObject({ status: "rejected", reason: "UNKNOWN_SKU" });
      // The same order twice in one call: the second sees the first decision.
      expect(results[4]).toEqual(results[0]);
    } finally {
      sent.mockRestore();
    }
    expect(await stockOf("KB-001", "MS-001")).toEqual([2, 8]);
  });

  it("fails only the order whose reservation cannot be read, and decides the others", async () => {
    await redis.set(keys.reservation("corrupt"), "not a hash");
    const reserve = createStockReserver(redis, keys);
    const results = await Promise.allSettled([
      reserve("ok-1", [line("KB-001", 1)]),
      reserve("corrupt", [line("KB-001", 1)]),
      reserve("ok-2", [line("KB-001", 1)]),
    ]);
    expect(results.map((result) => result.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/WRONGTYPE/);
    expect(await stockOf("KB-001")).toEqual([8]);
  });

  it("refuses an order without lines or with a bad quantity before calling Redis", async () => {
    const reserve = createStockReserver(redis, keys);
    await expect(reserve("o-1", [])).rejects.toThrow(RangeError);
    await expect(reserve("o-1", [line("KB-001", -1)])).rejects.toThrow(RangeError);
  });
});

describe("releaseStock", () => {
  it("puts a reservation back into stock once, however often it is called", async () => {
    const reserved = await reserveStock(redis, keys, "o-1", [line("KB-001", 3), line("LS-001", 2)]);
    const first = await releaseStock(redis, keys, "o-1");
    const again = await releaseStock(redis, keys, "o-1");
    expect(first).toEqual({
      status: "released",
      reservationId: reserved.status === "reserved" ? reserved.reservationId : "",
      items: [line("KB-001", 3), line("LS-001", 2)],
      isFirstRelease: true,
    });
    expect(again).toEqual({ ...first, isFirstRelease: false });
    expect(await stockOf("KB-001", "LS-001")).toEqual([10, 10]);
    expect(await redis.hget(keys.reservation("o-1"), "status")).toBe("released");
  });

  it("keeps a released order released when its order is redelivered", async () => {
    const first = await reserveStock(redis, keys, "o-1", [line("KB-001", 3)]);
    await releaseStock(redis, keys, "o-1");
    expect(await reserveStock(redis, keys, "o-1", [line("KB-001", 3)])).toEqual(first);
    expect(await stockOf("KB-001")).toEqual([10]);
  });

  it("gives nothing back for an order that was rejected or never seen", async () => {
    await reserveStock(redis, keys, "o-1", [line("KB-001", 99)]);
    expect(await releaseStock(redis, keys, "o-1")).toEqual({
      status: "not-reserved",
      reservation: "rejected",
    });
    expect(await releaseStock(redis, keys, "o-unknown")).toEqual({
      status: "not-reserved",
      reservation: "missing",
    });
    expect(await stockOf("KB-001")).toEqual([10]);
    expect(await redis.exists(keys.reservation("o-unknown"))).toBe(0);
  });

  it("restores stock exactly once when releases race on four connections", async () => {
    await reserveStock(redis, keys, "o-1", [line("MN-001", 7)]);
    const connections = Array.from({ length: 4 }, () => new Redis(redisUrl));
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, index) =>
          releaseStock(connections[index % 4] as Redis, keys, "o-1"),
        ),
      );
      const firsts = results.filter(
        (result) => result.status === "released" && result.isFirstRelease,
      );
      expect(firsts).toHaveLength(1);
      expect(await stockOf("MN-001")).toEqual([10]);
    } finally {
      await Promise.all(connections.map((connection) => connection.quit()));
    }
  });
});
