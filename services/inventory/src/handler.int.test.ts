import { getProducts, seedCatalog } from "@conveyor/catalog";
import {
  createEvent,
  createKeys,
  type EventEnvelope,
  type Keys,
  NonRetryableError,
} from "@conveyor/contract";
import type { Delivery } from "@conveyor/runtime";
import { orderCreated, uniquePrefix } from "@conveyor/testkit";
import { Redis } from "ioredis";
import { afterAll, beforeEach, describe, expect, inject, it } from "vitest";
import { createInventoryHandler } from "./handler.ts";

const redis = new Redis(inject("redisUrl"));
afterAll(() => redis.quit());

let keys: Keys;
let handle: (event: EventEnvelope) => Promise<readonly EventEnvelope[]>;
beforeEach(async () => {
  keys = createKeys(uniquePrefix("inventory"));
  await seedCatalog(redis, keys, { initialStock: 4 });
  const handler = createInventoryHandler({ redis, keys });
  handle = (event) => handler(event, {} as Delivery);
});

async function stockOf(sku: string): Promise<number | undefined> {
  return (await getProducts(redis, keys, [sku])).get(sku)?.stock;
}

function paymentFailed(orderId: string, reservationId: string) {
  return createEvent({
    type: "payment.failed",
    orderId,
    producer: "payment",
    data: {
      reason: "CARD_DECLINED",
      message: "declined",
      reservationId,
      amountCents: 8999,
      currency: "USD",
    },
  });
}

describe("inventory handler", () => {
  it("answers order.created with inventory.reserved carrying what payment needs", async () => {
    const order = orderCreated({
      orderId: "o-1",
      paymentToken: "tok_chargeDeclined",
      items: [{ sku: "KB-001", quantity: 2, unitPriceCents: 8999 }],
    });
    const [event, ...rest] = await handle(order);
    expect(rest).toEqual([]);
    expect(event).toMatchObject({
      type: "inventory.reserved",
      orderId: "o-1",
      producer: "inventory",
      data: {
        reservationId: expect.stringMatching(/^rsv_/),
        items: order.data.items,
        totalCents: 17998,
        currency: "USD",
        paymentToken: "tok_chargeDeclined",
      },
    });
    expect(await stockOf("KB-001")).toBe(2);
  });

  it("answers a redelivered order.created with the same reservation, reserving once", async () => {
    const order = orderCreated({ orderId: "o-1" });
    const [first] = await handle(order);
    const [again] = await handle(order);
    expect(again?.data).toEqual(first?.data);
    expect(again?.id).not.toBe(first?.id);
    expect(await stockOf("KB-001")).toBe(3);
  });

  it("answers an order beyond the stock with inventory.rejected and a readable message", async () => {
    const order = orderCreated({
      orderId: "o-1",
      items: [
        { sku: "KB-001", quantity: 5, unitPriceCents: 8999 },
        { sku: "MS-001", quantity: 9, unitPriceCents: 2999 },
      ],
    });
    const [event] = await handle(order);
    expect(event).toMatchObject({
      type: "inventory.rejected",
      data: {
        reason: "INSUFFICIENT_STOCK",
        message:
          "Not enough stock for KB-001 (requested 5, available 4), MS-001 (requested 9, available 4)",
        lines: [
          { sku: "KB-001", requested: 5, available: 4 },
          { sku: "MS-001", requested: 9, available: 4 },
        ],
      },
    });
  });

  it("answers an unknown sku with inventory.rejected UNKNOWN_SKU", async () => {
    const [event] = await handle(
      orderCreated({ orderId: "o-1", items: [{ sku: "ZZ-1", quantity: 1, unitPriceCents: 1 }] }),
    );
    expect(event).toMatchObject({
      type: "inventory.rejected",
      data: { reason: "UNKNOWN_SKU", message: "Unknown product: ZZ-1" },
    });
  });

  it("releases the reservation on payment.failed, restocking once across redeliveries", async () => {
    const order = orderCreated({
      orderId: "o-1",
      items: [{ sku: "KB-001", quantity: 3, unitPriceCents: 8999 }],
    });
    const [reserved] = await handle(order);
    const reservationId =
      reserved?.type === "inventory.reserved" ? reserved.data.reservationId : "";
    const failed = paymentFailed("o-1", reservationId);
    const [released] = await handle(failed);
    const [again] = await handle(failed);
    expect(released).toMatchObject({
      type: "inventory.released",
      orderId: "o-1",
      data: { reservationId, reason: "CARD_DECLINED", items: order.data.items },
    });
    expect(again?.data).toEqual(released?.data);
    expect(await stockOf("KB-001")).toBe(4);
  });

  it("refuses payment.failed for an order it never reserved, without retrying", async () => {
    await expect(handle(paymentFailed("o-unknown", "rsv_x"))).rejects.toThrow(NonRetryableError);
    const rejected = orderCreated({
      orderId: "o-rejected",
      items: [{ sku: "KB-001", quantity: 50, unitPriceCents: 8999 }],
    });
    await handle(rejected);
    await expect(handle(paymentFailed("o-rejected", "rsv_x"))).rejects.toThrow(/rejected/);
    expect(await stockOf("KB-001")).toBe(4);
  });

  it("refuses event types it does not consume, without retrying", async () => {
    const [reserved] = await handle(orderCreated({ orderId: "o-1" }));
    await expect(handle(reserved as EventEnvelope)).rejects.toThrow(
      new NonRetryableError("inventory does not handle inventory.reserved events"),
    );
  });
});
