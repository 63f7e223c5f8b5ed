import { EVENT_STEP, type EventEnvelope } from "@conveyor/contract";
import { type OrderEvent, type OrderStatus, traceIdOf } from "./records.ts";

/**
 * What one event does to its order's read model, precomputed so that the projection script
 * only moves strings around. Every value is a string: the script stashes this object as JSON
 * (cjson would mangle large numbers; strings survive it unchanged).
 */
export interface Projection {
  orderId: string;
  type: EventEnvelope["type"];
  /** The event's position in the order's life ({@link EVENT_STEP}), as a decimal string. */
  step: string;
  /** The order's status once the event is applied. */
  status: OrderStatus;
  /** Why the order failed, or "" when the event says nothing about that. */
  failureReason: string;
  /** "1" when `failureReason` only fills in a missing reason (a release after a failed charge). */
  isReasonFallback: "0" | "1";
  occurredAt: string;
  /** The trace of the event, or "". */
  traceId: string;
  /** The client-facing record of the event as JSON, without its cursor (the feed assigns it). */
  record: string;
  /** order.created only: the fields the order is created from when it does not exist yet. */
  customerId: string;
  items: string;
  totalCents: string;
  currency: string;
}

function failureOf(reason: string, message: string): string {
  return message ? `${reason}: ${message}` : reason;
}

/** Works out what an event does to the read model. */
export function projectionOf(event: EventEnvelope): Projection {
  const traceId = traceIdOf(event.traceparent);
  const record: Omit<OrderEvent, "cursor" | "partition" | "entryId"> = {
    id: event.id,
    type: event.type,
    orderId: event.orderId,
    service: event.producer,
    occurredAt: event.occurredAt,
    data: event.data,
    traceId,
  };
  const base = {
    orderId: event.orderId,
    type: event.type,
    step: String(EVENT_STEP[event.type]),
    failureReason: "",
    isReasonFallback: "0" as const,
    occurredAt: event.occurredAt,
    traceId: traceId ?? "",
    record: JSON.stringify(record),
    customerId: "",
    items: "",
    totalCents: "",
    currency: "",
  };
  switch (event.type) {
    case "order.created":
      return {
        ...base,
        status: "PENDING",
        customerId: event.data.customerId,
        items: JSON.stringify(event.data.items),
        totalCents: String(event.data.totalCents),
        currency: event.data.currency,
      };
    case "inventory.reserved":
      return { ...base, status: "RESERVED" };
    case "inventory.rejected":
      return {
        ...base,
        status: "REJECTED",
        failureReason: failureOf(event.data.reason, event.data.message),
      };
    case "payment.processed":
      return { ...base, status: "PAID" };
    case "payment.failed":
      // The reservation still holds until inventory releases it; the order is not paid.
      return {
        ...base,
        status: "RESERVED",
        failureReason: failureOf(event.data.reason, event.data.message),
      };
    case "inventory.released":
      return {
        ...base,
        status: "CANCELLED",
        failureReason: event.data.reason,
        isReasonFallback: "1",
      };
    case "shipment.created":
      return { ...base, status: "SHIPPED" };
  }
}
