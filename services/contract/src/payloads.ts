import { z } from "zod";
import type { EventType } from "./event-types.ts";

const sku = z.string().min(1).max(64);
const cents = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const currency = z.string().regex(/^[A-Z]{3}$/, "an ISO 4217 currency code");

/** One line of an order, priced when the order was placed. */
export const OrderLine = z.object({
  sku,
  quantity: z.number().int().positive(),
  unitPriceCents: cents,
});
export type OrderLine = z.infer<typeof OrderLine>;

/** Why inventory turned an order down. */
export const RejectionReason = z.enum(["UNKNOWN_SKU", "INSUFFICIENT_STOCK"]);
export type RejectionReason = z.infer<typeof RejectionReason>;

/** Why a charge did not go through. */
export const PaymentFailureReason = z.enum([
  "CARD_DECLINED",
  "INSUFFICIENT_FUNDS",
  "INVALID_TOKEN",
]);
export type PaymentFailureReason = z.infer<typeof PaymentFailureReason>;

/** `order.created`: a customer placed an order (published by the gateway). */
export const OrderCreated = z.object({
  customerId: z.string().min(1).max(128),
  items: z.array(OrderLine).min(1).max(100),
  totalCents: cents,
  currency,
  paymentToken: z.string().min(1).max(128),
});
export type OrderCreated = z.infer<typeof OrderCreated>;

/** `inventory.reserved`: every line of the order is held in stock for it. */
export const InventoryReserved = z.object({
  reservationId: z.string().min(1),
  items: z.array(OrderLine).min(1),
  totalCents: cents,
  currency,
  paymentToken: z.string().min(1).max(128),
});
export type InventoryReserved = z.infer<typeof InventoryReserved>;

/** `inventory.rejected`: the order cannot be filled; nothing was reserved. */
export const InventoryRejected = z.object({
  reason: RejectionReason,
  message: z.string(),
  lines: z.array(
    z.object({ sku, requested: z.number().int(), available: z.number().int().nullable() }),
  ),
});
export type InventoryRejected = z.infer<typeof InventoryRejected>;

/** `payment.processed`: the reserved amount was charged. */
export const PaymentProcessed = z.object({
  paymentId: z.string().min(1),
  reservationId: z.string().min(1),
  amountCents: cents,
  currency,
  /** The order lines that were paid for, carried on so that shipment knows what to ship. */
  items: z.array(OrderLine).min(1),
});
export type PaymentProcessed = z.infer<typeof PaymentProcessed>;

/** `payment.failed`: the charge was refused; the reservation must be released. */
export const PaymentFailed = z.object({
  reason: PaymentFailureReason,
  message: z.string(),
  reservationId: z.string().min(1),
  amountCents: cents,
  currency,
});
export type PaymentFailed = z.infer<typeof PaymentFailed>;

/** `inventory.released`: a reservation went back to stock (the order is cancelled). */
export const InventoryReleased = z.object({
  reservationId: z.string().min(1),
  reason: PaymentFailureReason,
  items: z.array(OrderLine).min(1),
});
export type InventoryReleased = z.infer<typeof InventoryReleased>;

/** `shipment.created`: the order is handed to a carrier. */
export const ShipmentCreated = z.object({
  shipmentId: z.string().min(1),
  carrier: z.string().min(1),
  trackingNumber: z.string().min(1),
  items: z.array(OrderLine).min(1),
});
export type ShipmentCreated = z.infer<typeof ShipmentCreated>;

/** The payload schema of each event type. */
export const PAYLOAD_SCHEMAS = {
  "order.created": OrderCreated,
  "inventory.reserved": InventoryReserved,
  "inventory.rejected": InventoryRejected,
  "payment.processed": PaymentProcessed,
  "payment.failed": PaymentFailed,
  "inventory.released": InventoryReleased,
  "shipment.created": ShipmentCreated,
} as const satisfies Record<EventType, z.ZodType>;

/** The payload type of an event type. */
export type PayloadOf<T extends EventType> = z.infer<(typeof PAYLOAD_SCHEMAS)[T]>;
