import { createKeys, type Keys } from "@conveyor/contract";
import { uniquePrefix } from "@conveyor/testkit";
import { Redis } from "ioredis";
import { afterAll, beforeEach, describe, expect, inject, it } from "vitest";
import { createPriceBook, readPrices } from "./prices.ts";
import { getProducts, listProducts, restock } from "./products.ts";
import { SEED_PRODUCTS, seedCatalog } from "./seed.ts";

const redis = new Redis(inject("redisUrl"));
afterAll(() => redis.quit());

let keys: Keys;
beforeEach(() => {
  keys = createKeys(uniquePrefix("catalog"));
});

describe("seedCatalog", () => {
  it("seeds the default products with the initial stock, listed by sku", async () => {
    await seedCatalog(redis, keys, { initialStock: 25 });
    const products = await listProducts(redis, keys);
    expect(products.map((product) => product.sku)).toEqual(
      SEED_PRODUCTS.map((product) => product.sku).sort(),
    );
    expect(products.length).toBeGreaterThanOrEqual(8);
    for (const product of products) {
      expect(product.stock).toBe(25);
      expect(product.currency).toBe("USD");
      expect(Number.isInteger(product.priceCents)).toBe(true);
      expect(product.priceCents).toBeGreaterThan(0);
    }
    expect(products.find((product) => product.sku === "KB-001")).toEqual({
      sku: "KB-001",
      name: "Mechanical Keyboard",
      priceCents: 8999,
      currency: "USD",
      stock: 25,
    });
  });

  it("keeps the stock of products that are already seeded", async () => {
    await seedCatalog(redis, keys, { initialStock: 10 });
    await restock(redis, keys, "MS-001", 5);
    await seedCatalog(redis, keys, { initialStock: 1_000 });
    const products = await getProducts(redis, keys, ["MS-001", "KB-001"]);
    expect(products.get("MS-001")?.stock).toBe(15);
    expect(products.get("KB-001")?.stock).toBe(10);
  });

  it("refuses a negative or fractional initial stock", async () => {
    await expect(seedCatalog(redis, keys, { initialStock: -1 })).rejects.toThrow(RangeError);
    await expect(seedCatalog(redis, keys, { initialStock: 1.5 })).rejects.toThrow(RangeError);
    expect(await listProducts(redis, keys)).toEqual([]);
  });
});

describe("getProducts", () => {
  it("returns the known skus and leaves unknown ones out", async () => {
    await seedCatalog(redis, keys, { initialStock: 3 });
    const products = await getProducts(redis, keys, ["KB-001", "NOPE-1", "KB-001", "WC-001"]);
    expect([...products.keys()].sort()).toEqual(["KB-001", "WC-001"]);
    expect(products.get("WC-001")).toMatchObject({ sku: "WC-001", stock: 3 });
  });

  it("returns an empty map for no skus or an unseeded catalog", async () => {
    expect((await getProducts(redis, keys, [])).size).toBe(0);
    expect((await getProducts(redis, keys, ["KB-001"])).size).toBe(0);
  });
});

describe("restock", () => {
  it("adds to the live stock and resolves the product", async () => {
    await seedCatalog(redis, keys, { initialStock: 2 });
    expect(await restock(redis, keys, "HD-001", 40)).toMatchObject({
      outcome: "restocked",
      product: { sku: "HD-001", stock: 42 },
    });
    expect((await getProducts(redis, keys, ["HD-001"])).get("HD-001")?.stock).toBe(42);
  });

  it("says so for an unknown sku and creates nothing", async () => {
    await seedCatalog(redis, keys, { initialStock: 2 });
    expect(await restock(redis, keys, "NOPE-1", 5, { idempotencyKey: "k" })).toEqual({
      outcome: "unknown-sku",
    });
    expect(await redis.hexists(keys.stock, "NOPE-1")).toBe(0);
    expect(await redis.exists(keys.restock("k"))).toBe(0);
  });

  it("applies a restock once per idempotency key, even when retried concurrently", async () => {
    await seedCatalog(redis, keys, { initialStock: 2 });
    const retries = await Promise.all(
      Array.from({ length: 10 }, () =>
        restock(redis, keys, "HD-001", 5, { idempotencyKey: "delivery-7" }),
      ),
    );
    for (const result of retries)
      expect(result).toMatchObject({ outcome: "restocked", product: { stock: 7 } });
    expect((await getProducts(redis, keys, ["HD-001"])).get("HD-001")?.stock).toBe(7);
    const ttlMs = await redis.pttl(keys.restock("delivery-7"));
    expect(ttlMs).toBeGreaterThan(0);

    // Another key adds again; the same key with other terms is refused.
    await restock(redis, keys, "HD-001", 5, { idempotencyKey: "delivery-8" });
    expect(await restock(redis, keys, "HD-001", 6, { idempotencyKey: "delivery-7" })).toEqual({
      outcome: "idempotency-conflict",
    });
    expect(await restock(redis, keys, "KB-001", 5, { idempotencyKey: "delivery-7" })).toEqual({
      outcome: "idempotency-conflict",
    });
    expect((await getProducts(redis, keys, ["HD-001"])).get("HD-001")?.stock).toBe(12);
  });

  it("refuses a quantity that is not a positive integer", async () => {
    await seedCatalog(redis, keys, { initialStock: 2 });
    for (const quantity of [0, -3, 2.5, Number.NaN]) {
      await expect(restock(redis, keys, "KB-001", quantity)).rejects.toThrow(RangeError);
    }
    expect((await getProducts(redis, keys, ["KB-001"])).get("KB-001")?.stock).toBe(2);
  });
});

describe("readPrices", () => {
  it("prices the catalog's skus once each, and leaves out unknown or unpriced ones", async () => {
    await seedCatalog(redis, keys, { initialStock: 1 });
    await redis.hset(keys.product("BROKEN-1"), "name", "No price", "currency", "USD");
    const prices = await readPrices(redis, keys, ["KB-001", "NOPE-1", "KB-001", "BROKEN-1"]);
    expect([...prices.entries()]).toEqual([["KB-001", { priceCents: 8999, currency: "USD" }]]);
  });
});

describe("createPriceBook", () => {
  it("reuses a price until it is older than maxAgeMs, and reads unknown skus every time", async () => {
    await seedCatalog(redis, keys, { initialStock: 1 });
    const book = createPriceBook(redis, keys, { maxAgeMs: 300 });
    expect((await book.pricesOf(["KB-001"])).get("KB-001")?.priceCents).toBe(8999);
    await redis.hset(keys.product("KB-001"), "priceCents", "9999");
    await redis.hset(keys.product("NEW-1"), "name", "New", "priceCents", "100", "currency", "USD");
    const soon = await book.pricesOf(["KB-001", "NEW-1"]);
    expect(soon.get("KB-001")?.priceCents).toBe(8999);
    expect(soon.get("NEW-1")?.priceCents).toBe(100);
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect((await book.pricesOf(["KB-001"])).get("KB-001")?.priceCents).toBe(9999);
  });
});
