import {
  createEvent,
  type EventOf,
  type EventType,
  type OrderLine,
  type PayloadOf,
} from "@conveyor/contract";
import type { OrderEvent } from "../read-model/records.ts";

const items: OrderLine[] = [{ sku: "KB-001", quantity: 2, unitPriceCents: 8999 }];
const totalCents = 17998;

/** Valid events of every type for one order, as the services would publish them. */
export function eventsOf(orderId: string) {
  const reservationId = `res-${orderId}`;
  const make = <T extends EventType>(
    type: T,
    producer: EventOf<T>["producer"],
    data: PayloadOf<T>,
  ): EventOf<T> => createEvent<T>({ type, orderId, producer, data });
  return {
    created: () =>
      make("order.created", "gateway", {
        customerId: "alice",
        items,
        totalCents,
        currency: "USD",
        paymentToken: "tok_visa",
      }),
    reserved: () =>
      make("inventory.reserved", "inventory", {
        reservationId,
        items,
        totalCents,
        currency: "USD",
        paymentToken: "tok_visa",
      }),
    rejected: () =>
      make("inventory.rejected", "inventory", {
        reason: "INSUFFICIENT_STOCK",
        message: "only 1 of KB-001 left",
        lines: [{ sku: "KB-001", requested: 2, available: 1 }],
      }),
    processed: () =>
      make("payment.processed", "payment", {
        paymentId: `pay-${orderId}`,
        reservationId,
        amountCents: totalCents,
        currency: "USD",
        items,
      }),
    failed: () =>
      make("payment.failed", "payment", {
        reason: "CARD_DECLINED",
        message: "the card was declined",
        reservationId,
        amountCents: totalCents,
        currency: "USD",
      }),
    released: () =>
      make("inventory.released", "inventory", { reservationId, reason: "CARD_DECLINED", items }),
    shipped: () =>
      make("shipment.created", "shipment", {
        shipmentId: `ship-${orderId}`,
        carrier: "UPS",
        trackingNumber: "1Z999",
        items,
      }),
  };
}

/** A fresh order id for a test (ULID-shaped, unique). */
export function testOrderId(): string {
  return createEvent({
    type: "shipment.created",
    orderId: "x",
    producer: "shipment",
    data: { shipmentId: "s", carrier: "c", trackingNumber: "t", items },
  }).id;
}

/**
 * A projected event of a one-partition feed as subscribers get it live, at `cursor`: for tests
 * of the fan-out's parts.
 */
export function orderEventAt(cursor: string): OrderEvent {
  return {
    id: `e${cursor}`,
    cursor,
    partition: 0,
    entryId: cursor,
    after: [cursor],
    type: "order.created",
    orderId: "o1",
    service: "gateway",
    occurredAt: new Date(0).toISOString(),
    data: {},
    traceId: null,
  };
}

/** An order.created of about 10 kB (100 lines with long skus), to fill output buffers fast. */
export function bigOrderCreated(orderId: string = testOrderId()) {
  const lines = Array.from({ length: 100 }, (_, i) => ({
    sku: `SKU-${String(i).padStart(3, "0")}-${"x".repeat(56)}`,
    quantity: 1,
    unitPriceCents: 100,
  }));
  return createEvent({
    type: "order.created",
    orderId,
    producer: "gateway",
    data: {
      customerId: "c",
      items: lines,
      totalCents: 10_000,
      currency: "USD",
      paymentToken: "tok_visa",
    },
  });
}
