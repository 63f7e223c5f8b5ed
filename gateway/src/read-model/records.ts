import type { EventType, OrderLine, ServiceName } from "@conveyor/contract";

/** The statuses of an order in the read model, in the order an order usually moves through them. */
export const ORDER_STATUSES = [
  "PENDING",
  "RESERVED",
  "PAID",
  "SHIPPED",
  "REJECTED",
  "CANCELLED",
] as const;

/** One of {@link ORDER_STATUSES}. */
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** One event of an order as clients see it: the projected envelope plus its feed cursor. */
export interface OrderEvent {
  /** The event id (the envelope's `id`). */
  id: string;
  /** The feed entry id of this event: the position a client resumes after. */
  cursor: string;
  type: EventType;
  orderId: string;
  /** The service that produced it (the envelope's `producer`). */
  service: ServiceName;
  occurredAt: string;
  /** The event's payload, as published. */
  data: unknown;
  /** The trace the event belongs to, or null when it was published without trace context. */
  traceId: string | null;
}

/** An order as the read model holds it. */
export interface Order {
  id: string;
  status: OrderStatus;
  customerId: string;
  items: OrderLine[];
  totalCents: number;
  currency: string;
  traceId: string | null;
  createdAt: string;
  updatedAt: string;
  /** Why the order was rejected, or why its payment failed; null while nothing went wrong. */
  failureReason: string | null;
}

/** Whether a string is one of {@link ORDER_STATUSES}. */
export function isOrderStatus(value: string): value is OrderStatus {
  return (ORDER_STATUSES as readonly string[]).includes(value);
}

const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/;

/** The trace id of a W3C `traceparent`, or null when there is none or it is malformed. */
export function traceIdOf(traceparent: string | undefined): string | null {
  const traceId = traceparent ? TRACEPARENT.exec(traceparent)?.[1] : undefined;
  return traceId && !/^0+$/.test(traceId) ? traceId : null;
}

/** Parses an event as stored in an order's history list (JSON with its cursor). */
export function parseStoredEvent(json: string): OrderEvent {
  return JSON.parse(json) as OrderEvent;
}

/** Rebuilds an event from a feed entry: its fields carry the record, its id is the cursor. */
export function eventFromFeedEntry(
  entryId: string,
  fields: Readonly<Record<string, string>>,
): OrderEvent | undefined {
  if (fields.record === undefined) return undefined;
  try {
    return { ...(JSON.parse(fields.record) as Omit<OrderEvent, "cursor">), cursor: entryId };
  } catch {
    return undefined;
  }
}

/** Builds an order from its read-model hash; undefined when the hash is empty or incomplete. */
export function orderFromHash(hash: Readonly<Record<string, string>>): Order | undefined {
  const { id, status, customerId, items, totalCents, currency, createdAt } = hash;
  if (!id || !status || !isOrderStatus(status) || customerId === undefined || !items) {
    return undefined;
  }
  return {
    id,
    status,
    customerId,
    items: JSON.parse(items) as OrderLine[],
    totalCents: Number(totalCents ?? 0),
    currency: currency ?? "",
    traceId: hash.traceId || null,
    createdAt: createdAt ?? "",
    updatedAt: hash.updatedAt || createdAt || "",
    failureReason: hash.failureReason || null,
  };
}
