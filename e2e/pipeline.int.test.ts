import type { EventOf, EventType, OrderLine } from "@conveyor/contract";
import {
  countBy,
  createTestSystem,
  orderCreated,
  type TestSystem,
  waitFor,
} from "@conveyor/testkit";
import { describe, expect, it } from "vitest";
import { startPipeline, stockOf } from "./support.ts";

const KEYBOARD = { sku: "KB-001", unitPriceCents: 8999 };
const MOUSE = { sku: "MS-001", unitPriceCents: 2999 };
const MONITOR = { sku: "MN-001", unitPriceCents: 32999 };
const line = (product: { sku: string; unitPriceCents: number }, quantity: number): OrderLine => ({
  ...product,
  quantity,
});

/** Waits until a stream holds `count` events, then resolves them. */
async function waitForEvents<T extends EventType>(system: TestSystem, type: T, count: number) {
  return waitFor(`${count} ${type} events`, async () => {
    const events = await system.events(type);
    return events.length >= count && events;
  });
}

/** Asserts each order id appears exactly once among the events. */
function expectOncePerOrder(events: ReadonlyArray<{ orderId: string }>, orderIds: string[]) {
  const counts = countBy(events.map((event) => event.orderId));
  expect(Object.fromEntries(counts)).toEqual(Object.fromEntries(orderIds.map((id) => [id, 1])));
}

const byOrder = <T extends { orderId: string }>(events: readonly T[]) =>
  new Map(events.map((event) => [event.orderId, event]));

describe("the order pipeline", () => {
  it("ships paid orders: reserved, charged and shipped exactly once each, with consistent data", async () => {
    const system = createTestSystem("happy");
    await startPipeline(system, { inventory: { CATALOG_INITIAL_STOCK: "50" } });
    const orders = Array.from({ length: 12 }, (_, index) =>
      orderCreated({
        orderId: `happy-${index}`,
        customerId: `customer-${index % 3}`,
        items: [line(KEYBOARD, 1 + (index % 2)), ...(index % 3 === 0 ? [line(MOUSE, 2)] : [])],
      }),
    );
    const orderIds = orders.map((order) => order.orderId);
    await Promise.all(orders.map((order) => system.publish(order)));

    const shipped = byOrder(await waitForEvents(system, "shipment.created", orders.length));
    const reserved = byOrder(await system.events("inventory.reserved"));
    const paid = byOrder(await system.events("payment.processed"));
    for (const type of ["inventory.reserved", "payment.processed", "shipment.created"] as const) {
      expectOncePerOrder(await system.events(type), orderIds);
    }
    for (const type of ["inventory.rejected", "payment.failed", "inventory.released"] as const) {
      expect(await system.events(type)).toEqual([]);
    }

    for (const order of orders) {
      const reservation = reserved.get(order.orderId) as EventOf<"inventory.reserved">;
      expect(reservation.producer).toBe("inventory");
      expect(reservation.data).toEqual({
        reservationId: expect.stringMatching(/^rsv_/),
        items: order.data.items,
        totalCents: order.data.totalCents,
        currency: "USD",
        paymentToken: "tok_visa",
      });
      const payment = paid.get(order.orderId) as EventOf<"payment.processed">;
      expect(payment.producer).toBe("payment");
      expect(payment.data).toEqual({
        paymentId: expect.stringMatching(/^pay_/),
        reservationId: reservation.data.reservationId,
        amountCents: order.data.totalCents,
        currency: "USD",
        items: order.data.items,
      });
      const shipment = shipped.get(order.orderId) as EventOf<"shipment.created">;
      expect(shipment.producer).toBe("shipment");
      expect(shipment.data).toEqual({
        shipmentId: expect.stringMatching(/^shp_/),
        carrier: expect.stringMatching(/^(UPS|FedEx|DHL|USPS)$/),
        trackingNumber: expect.any(String),
        items: order.data.items,
      });

      const charge = JSON.parse((await system.redis.get(system.keys.charge(order.orderId))) ?? "");
      expect(charge).toMatchObject({ status: "approved", paymentId: payment.data.paymentId });
      const booking = JSON.parse(
        (await system.redis.get(system.keys.shipment(order.orderId))) ?? "",
      );
      expect(booking).toMatchObject({
        shipmentId: shipment.data.shipmentId,
        trackingNumber: shipment.data.trackingNumber,
      });
    }

    const unitsOf = (sku: string) =>
      orders
        .flatMap((order) => order.data.items)
        .filter((item) => item.sku === sku)
        .reduce((sum, item) => sum + item.quantity, 0);
    expect(await stockOf(system, "KB-001", "MS-001", "MN-001")).toEqual([
      50 - unitsOf("KB-001"),
      50 - unitsOf("MS-001"),
      50,
    ]);
  });

  it("rejects unknown skus and orders beyond the stock, all or nothing, without touching stock", async () => {
    const system = createTestSystem("reject");
    await startPipeline(system, { inventory: { CATALOG_INITIAL_STOCK: "5" } });
    const unknown = orderCreated({
      orderId: "reject-unknown",
      items: [line(KEYBOARD, 1), { sku: "ZZ-404", quantity: 1, unitPriceCents: 100 }],
    });
    const tooMany = orderCreated({ orderId: "reject-too-many", items: [line(KEYBOARD, 6)] });
    const oneLineShort = orderCreated({
      orderId: "reject-one-line-short",
      items: [line(KEYBOARD, 3), line(MONITOR, 9)],
    });
    for (const order of [unknown, tooMany, oneLineShort]) await system.publish(order);
    // A good order after the bad ones: once it is shipped, the rejected ones have had their turn.
    const sentinel = orderCreated({ orderId: "reject-sentinel", items: [line(MOUSE, 1)] });
    await system.publish(sentinel);

    await waitForEvents(system, "shipment.created", 1);
    const rejected = byOrder(await waitForEvents(system, "inventory.rejected", 3));
    expectOncePerOrder(
      [...rejected.values()],
      [unknown, tooMany, oneLineShort].map((o) => o.orderId),
    );
    expect(rejected.get("reject-unknown")?.data).toEqual({
      reason: "UNKNOWN_SKU",
      message: expect.stringContaining("ZZ-404"),
      lines: [{ sku: "ZZ-404", requested: 1, available: null }],
    });
    expect(rejected.get("reject-too-many")?.data).toEqual({
      reason: "INSUFFICIENT_STOCK",
      message: expect.stringContaining("KB-001"),
      lines: [{ sku: "KB-001", requested: 6, available: 5 }],
    });
    expect(rejected.get("reject-one-line-short")?.data).toEqual({
      reason: "INSUFFICIENT_STOCK",
      message: expect.stringContaining("MN-001"),
      lines: [{ sku: "MN-001", requested: 9, available: 5 }],
    });

    expect(await stockOf(system, "KB-001", "MN-001", "MS-001")).toEqual([5, 5, 4]);
    for (const type of ["inventory.reserved", "payment.processed", "shipment.created"] as const) {
      expectOncePerOrder(await system.events(type), [sentinel.orderId]);
    }
    expect(await system.events("payment.failed")).toEqual([]);
  });

  it("cancels orders whose payment fails and puts their stock back exactly", async () => {
    const system = createTestSystem("decline");
    await startPipeline(system, { inventory: { CATALOG_INITIAL_STOCK: "20" } });
    const failing = [
      ["tok_chargeDeclined", "CARD_DECLINED"],
      ["tok_insufficientFunds", "INSUFFICIENT_FUNDS"],
      ["tok_stolen", "INVALID_TOKEN"],
    ].map(([paymentToken, reason], index) => ({
      reason,
      order: orderCreated({
        orderId: `decline-${index}`,
        paymentToken: paymentToken as string,
        items: [line(KEYBOARD, 2 + index), line(MONITOR, 1)],
      }),
    }));
    const paid = orderCreated({ orderId: "decline-paid", items: [line(KEYBOARD, 4)] });
    await Promise.all([...failing.map(({ order }) => order), paid].map((o) => system.publish(o)));

    const released = byOrder(await waitForEvents(system, "inventory.released", failing.length));
    await waitForEvents(system, "shipment.created", 1);
    const failed = byOrder(await system.events("payment.failed"));
    const reserved = byOrder(await system.events("inventory.reserved"));
    const failingIds = failing.map(({ order }) => order.orderId);
    expectOncePerOrder([...failed.values()], failingIds);
    expectOncePerOrder(await system.events("inventory.released"), failingIds);
    expectOncePerOrder(await system.events("shipment.created"), [paid.orderId]);

    for (const { order, reason } of failing) {
      const reservationId = reserved.get(order.orderId)?.data.reservationId;
      expect(failed.get(order.orderId)?.data).toEqual({
        reason,
        message: expect.any(String),
        reservationId,
        amountCents: order.data.totalCents,
        currency: "USD",
      });
      expect(released.get(order.orderId)?.data).toEqual({
        reservationId,
        reason,
        items: order.data.items,
      });
      expect(await system.redis.hget(system.keys.reservation(order.orderId), "status")).toBe(
        "released",
      );
    }
    // Only the paid order's units are gone.
    expect(await stockOf(system, "KB-001", "MN-001")).toEqual([16, 20]);
  });
});
