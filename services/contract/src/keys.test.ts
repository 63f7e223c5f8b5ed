import { describe, expect, it } from "vitest";
import { createUlidFactory } from "./ids.ts";
import { createKeys } from "./keys.ts";
import { idInPartition, partitionOf, partitionOfIdempotencyKey } from "./partitions.ts";
import { assertOneSlot, hashedPartOf } from "./slots.ts";

describe("key layout", () => {
  it("keeps the names Conveyor always had with one partition", () => {
    const keys = createKeys("conveyor:");
    const [only] = keys.partitions;
    expect(keys.partitions).toHaveLength(1);
    expect(only?.stream("order.created")).toBe("conveyor:{orders}:order.created");
    expect(only?.deadLetter).toBe("conveyor:{orders}:dead-letter");
    expect(only?.feed).toBe("conveyor:{orders}:feed");
    expect(only?.orders).toBe("conveyor:{orders}:orders");
    expect(only?.idempotency("c", "k")).toBe("conveyor:{orders}:idempotency:c:k");
    expect(keys.order("O1")).toBe("conveyor:{orders}:order:O1");
    expect(keys.charge("O1")).toBe("conveyor:{payments}:charge:O1");
    expect(keys.shipment("O1")).toBe("conveyor:{shipments}:shipment:O1");
    expect(keys.stock).toBe("conveyor:{catalog}:stock");
  });

  it("puts every key of one order's atomic steps in its partition's slot", () => {
    const keys = createKeys("conveyor:", 4);
    const nextId = createUlidFactory();
    for (let n = 0; n < 200; n += 1) {
      const orderId = nextId();
      const partition = keys.forOrder(orderId);
      expect(partition.tag).toBe(`{orders:${partitionOf(orderId, 4)}}`);
      const stepKeys = [
        ...["order.created", "inventory.reserved", "payment.processed"].map((type) =>
          partition.stream(type as "order.created"),
        ),
        partition.deadLetter,
        partition.feed,
        partition.failure(partition.stream("order.created"), "1-0"),
        partition.orders,
        partition.ordersByStatus("PENDING"),
        keys.order(orderId),
        keys.orderEvents(orderId),
        keys.orderStash(orderId),
        keys.charge(orderId),
        keys.shipment(orderId),
      ];
      expect(() => assertOneSlot(stepKeys)).not.toThrow();
    }
    // The catalog is one slot of its own, which its reservations share.
    expect(() => assertOneSlot([keys.stock, keys.skus, keys.reservation("O1")])).not.toThrow();
    expect(() => assertOneSlot([keys.stock, keys.order("O1")])).toThrow(/different hash slots/);
  });

  it("creates an idempotency key's order in the key's partition", () => {
    const keys = createKeys("p:", 12);
    const nextId = createUlidFactory();
    for (let n = 0; n < 100; n += 1) {
      const partition = partitionOfIdempotencyKey("customer", `key-${n}`, 12);
      const orderId = idInPartition(nextId, partition, 12);
      const idempotency = keys.partition(partition).idempotency("customer", `key-${n}`);
      expect(() => assertOneSlot([idempotency, keys.order(orderId)])).not.toThrow();
    }
  });

  it("refuses a prefix with braces and a partition count out of range", () => {
    expect(() => createKeys("a{b}:")).toThrow(/braces/);
    expect(() => createKeys("a:", 0)).toThrow(/STREAM_PARTITIONS/);
    expect(() => createKeys("a:", 1.5)).toThrow(/STREAM_PARTITIONS/);
    expect(() => createKeys("a:", 2).partition(2)).toThrow(RangeError);
  });
});

describe("partitions", () => {
  it("never moves an order: the hash is fixed (changing it strands orders in flight)", () => {
    // 32-bit FNV-1a, then murmur3's fmix32, as computed by an independent implementation.
    expect(partitionOf("a", 1_000)).toBe(444_641_715 % 1_000);
    expect(partitionOf("01KBMJ7ZQ3V8T2N9S6XW4YHC5D", 4)).toBe(3_820_204_251 % 4);
    expect(partitionOf("01KBMJ7ZQ3V8T2N9S6XW4YHC5E", 4)).toBe(216_473_084 % 4);
    expect(partitionOf("01KBMJ7ZQ3V8T2N9S6XW4YHC5F", 12)).toBe(2_297_292_564 % 12);
    expect(partitionOf("anything", 1)).toBe(0);
  });

  it("spreads idempotency keys that differ only in a counter (FNV-1a alone crowds them)", () => {
    const counts = new Array<number>(4).fill(0);
    for (let n = 0; n < 4_000; n += 1) {
      const partition = partitionOfIdempotencyKey(`chaos-${n % 97}`, `run-abc123-${n}`, 4);
      counts[partition] = (counts[partition] ?? 0) + 1;
    }
    for (const count of counts) expect(Math.abs(count - 1_000)).toBeLessThan(150);
  });

  it("spreads ULIDs evenly", () => {
    const nextId = createUlidFactory();
    const counts = new Array<number>(12).fill(0);
    for (let n = 0; n < 24_000; n += 1) {
      const partition = partitionOf(nextId(), 12);
      counts[partition] = (counts[partition] ?? 0) + 1;
    }
    for (const count of counts) expect(Math.abs(count - 2_000)).toBeLessThan(300);
  });
});

describe("hash slots", () => {
  it("hashes by the tag as the cluster spec says", () => {
    expect(hashedPartOf("{user1000}.following")).toBe("user1000");
    expect(hashedPartOf("foo{}{bar}")).toBe("foo{}{bar}");
    expect(hashedPartOf("foo{{bar}}zap")).toBe("{bar");
    expect(hashedPartOf("foo{bar}{zap}")).toBe("bar");
    expect(hashedPartOf("plain")).toBe("plain");
  });
});
