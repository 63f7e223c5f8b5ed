import {
  createEvent,
  type EventEnvelope,
  type EventType,
  encodeEvent,
  type OrderLine,
} from "@conveyor/contract";

/** The worker services the bench measures one by one. */
export type ServiceName = "inventory" | "payment" | "shipment";

/** The stream each service is measured on (inventory also reads `payment.failed`, left empty). */
export const INPUT_OF: Readonly<Record<ServiceName, EventType>> = {
  inventory: "order.created",
  payment: "inventory.reserved",
  shipment: "payment.processed",
};

/** The event each service publishes for a valid, successful input. */
export const OUTPUT_OF: Readonly<Record<ServiceName, EventType>> = {
  inventory: "inventory.reserved",
  payment: "payment.processed",
  shipment: "shipment.created",
};

/** Seeded skus (see `@conveyor/catalog` seed data); orders rotate over them. */
export const SKUS = ["CB-001", "KB-001", "LS-001", "MS-001"] as const;
const PRICES: Readonly<Record<(typeof SKUS)[number], number>> = {
  "CB-001": 1299,
  "KB-001": 8999,
  "LS-001": 3999,
  "MS-001": 2999,
};

function linesFor(index: number): OrderLine[] {
  const sku = SKUS[index % SKUS.length] as (typeof SKUS)[number];
  return [{ sku, quantity: 1, unitPriceCents: PRICES[sku] }];
}

/**
 * A valid input event of a service for order number `index`: the same envelope the upstream
 * service would publish, with a well-formed traceparent so the consumer's span has a parent.
 */
export function inputEvent(service: ServiceName, orderId: string, index: number): EventEnvelope {
  const items = linesFor(index);
  const totalCents = items.reduce((sum, line) => sum + line.quantity * line.unitPriceCents, 0);
  const traceparent = `00-${randomHex(32)}-${randomHex(16)}-01`;
  switch (service) {
    case "inventory":
      return createEvent({
        type: "order.created",
        orderId,
        producer: "gateway",
        traceparent,
        data: {
          customerId: `bench-customer-${index % 100}`,
          items,
          totalCents,
          currency: "USD",
          paymentToken: "tok_visa",
        },
      });
    case "payment":
      return createEvent({
        type: "inventory.reserved",
        orderId,
        producer: "inventory",
        traceparent,
        data: {
          reservationId: `rsv_bench_${index}`,
          items,
          totalCents,
          currency: "USD",
          paymentToken: "tok_visa",
        },
      });
    case "shipment":
      return createEvent({
        type: "payment.processed",
        orderId,
        producer: "payment",
        traceparent,
        data: {
          paymentId: `pay_bench_${index}`,
          reservationId: `rsv_bench_${index}`,
          amountCents: totalCents,
          currency: "USD",
          items,
        },
      });
  }
}

/** The flat XADD fields of {@link inputEvent}. */
export function inputFields(service: ServiceName, orderId: string, index: number): string[] {
  return encodeEvent(inputEvent(service, orderId, index));
}

function randomHex(length: number): string {
  let out = "";
  while (out.length < length) out += Math.floor(Math.random() * 0x100000000).toString(16);
  return out.slice(0, length).padStart(length, "1");
}
