import type { graphql } from "../graphql.ts";

/** The API's `OrderStatus` enum, as the gateway's schema defines it. */
export type OrderStatus = ReturnType<typeof graphql.scalar<"OrderStatus">>;

/**
 * The order statuses of the API, in the order an order usually moves through them. The schema
 * types it: a status the schema lacks fails to compile, and so does one missing here.
 */
export const ORDER_STATUSES = [
  "PENDING",
  "RESERVED",
  "PAID",
  "SHIPPED",
  "REJECTED",
  "CANCELLED",
] as const satisfies readonly OrderStatus[];

type Unlisted = Exclude<OrderStatus, (typeof ORDER_STATUSES)[number]>;
// Compiles only while every status of the schema is listed above.
const everyStatusListed: [Unlisted] extends [never] ? true : never = true;
void everyStatusListed;

/** How an event reads in the UI and what it means for its order. */
export interface EventMeta {
  /** A short past-tense label: "Stock reserved". */
  label: string;
  /** The order's status once this event is projected, if it changes it. */
  status?: OrderStatus;
  tone: "neutral" | "progress" | "success" | "danger" | "warning";
}

const EVENT_META: Record<string, EventMeta> = {
  "order.created": { label: "Order placed", status: "PENDING", tone: "neutral" },
  "inventory.reserved": { label: "Stock reserved", status: "RESERVED", tone: "progress" },
  "inventory.rejected": { label: "Stock rejected", status: "REJECTED", tone: "danger" },
  "payment.processed": { label: "Payment captured", status: "PAID", tone: "progress" },
  "payment.failed": { label: "Payment declined", tone: "danger" },
  "inventory.released": { label: "Stock released", status: "CANCELLED", tone: "warning" },
  "shipment.created": { label: "Shipped", status: "SHIPPED", tone: "success" },
};

/** What an event type means; unknown types (from a newer gateway) still display. */
export function eventMeta(type: string): EventMeta {
  return EVENT_META[type] ?? { label: type, tone: "neutral" };
}

/** Whether no further event will change an order in this status. */
export function isFinalStatus(status: OrderStatus): boolean {
  return status === "SHIPPED" || status === "REJECTED" || status === "CANCELLED";
}

/** The status an order has after these events (oldest first), or `fallback` if none sets one. */
export function statusAfter(
  events: ReadonlyArray<{ type: string }>,
  fallback: OrderStatus,
): OrderStatus {
  let status = fallback;
  for (const event of events) status = eventMeta(event.type).status ?? status;
  return status;
}

function field(data: unknown, name: string): string | undefined {
  if (typeof data !== "object" || data === null) return undefined;
  const value = (data as Record<string, unknown>)[name];
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

const REASON_TEXT: Record<string, string> = {
  UNKNOWN_SKU: "Unknown product",
  INSUFFICIENT_STOCK: "Not enough stock",
  CARD_DECLINED: "Card declined",
  INSUFFICIENT_FUNDS: "Insufficient funds",
  INVALID_TOKEN: "Invalid payment token",
};

/**
 * A failure reason as people read it: the read model's `CARD_DECLINED: Your card was declined.`
 * becomes `Card declined: Your card was declined.`.
 */
export function readableReason(reason: string): string {
  const match = /^([A-Z][A-Z_]+):?\s*(.*)$/s.exec(reason);
  if (!match) return reason;
  const [, code = "", message = ""] = match;
  const label =
    REASON_TEXT[code] ?? code.charAt(0) + code.slice(1).toLowerCase().replaceAll("_", " ");
  if (!message) return label;
  return message.toLowerCase().startsWith(label.toLowerCase()) ? message : `${label}: ${message}`;
}

/** Why an event turned an order down (`Card declined: …`), or undefined when it did not. */
export function reasonOf(event: { type: string; data: unknown }): string | undefined {
  if (!["inventory.rejected", "payment.failed", "inventory.released"].includes(event.type)) {
    return undefined;
  }
  const code = field(event.data, "reason");
  const message = field(event.data, "message");
  const label = code ? (REASON_TEXT[code] ?? code) : undefined;
  if (label && message)
    return message.toLowerCase().startsWith(label.toLowerCase()) ? message : `${label}: ${message}`;
  return label ?? message;
}

/** The steps of an order that goes well, for the journey's progress bar. */
export const HAPPY_PATH = [
  { type: "order.created", label: "Placed", service: "gateway" },
  { type: "inventory.reserved", label: "Reserved", service: "inventory" },
  { type: "payment.processed", label: "Paid", service: "payment" },
  { type: "shipment.created", label: "Shipped", service: "shipment" },
] as const;
