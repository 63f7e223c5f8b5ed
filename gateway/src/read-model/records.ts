import type { EventType, OrderLine, ServiceName } from "@conveyor/contract";
import type { FeedPosition } from "../feed/cursor.ts";

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
  /**
   * The position a client resumes after (see `encodeCursor`): with one partition, the event's
   * feed entry id; with more, every partition's position once this event is delivered.
   */
  cursor: string;
  /** The feed partition of its order, and its entry id in that partition's feed. */
  partition: number;
  entryId: string;
  /**
   * For a live event, the event hub's position before and after it, shared by every subscriber
   * (a subscriber at `before` moves to `after`, and the shared frame's cursor is right for it).
   */
  before?: FeedPosition;
  after?: FeedPosition;
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

/** An event as projected: what the feed entry's record and the history list hold. */
type StoredEvent = Omit<OrderEvent, "cursor" | "partition" | "entryId" | "before" | "after">;

/**
 * Parses an event as stored in an order's history list: JSON with its feed entry id (under
 * `cursor`, which is the whole cursor with one partition).
 */
export function parseStoredEvent(json: string, partition: number): OrderEvent {
  const stored = JSON.parse(json) as StoredEvent & { cursor: string };
  return { ...stored, partition, entryId: stored.cursor };
}

/** Rebuilds an event from a feed entry: its fields carry the record; its cursor is the entry id. */
export function eventFromFeedEntry(
  partition: number,
  entryId: string,
  fields: Readonly<Record<string, string>>,
): OrderEvent | undefined {
  if (fields.record === undefined) return undefined;
  try {
    return { ...(JSON.parse(fields.record) as StoredEvent), cursor: entryId, partition, entryId };
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
