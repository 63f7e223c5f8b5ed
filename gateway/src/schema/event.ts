import { operatorOnly, watchableOrder } from "../auth/rules.ts";
import type { OrderEvent } from "../read-model/records.ts";
import type { StreamItem } from "../subscriptions/event-feed.ts";
import { builder } from "./builder.ts";

/** The GraphQL `OrderEvent` type. */
export const OrderEventRef = builder.objectRef<OrderEvent>("OrderEvent").implement({
  description: "Something that happened to an order, as one of the services published it.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "The event's id (unique, sorts by time)." }),
    cursor: t.exposeString("cursor", {
      description:
        "Opaque position of this event: pass the last one you saw as `after` to resume a subscription.",
    }),
    type: t.exposeString("type", {
      description: "The dotted event type: order.created, inventory.reserved, … shipment.created.",
    }),
    orderId: t.exposeID("orderId"),
    service: t.exposeString("service", { description: "The service that produced it." }),
    occurredAt: t.expose("occurredAt", { type: "DateTime" }),
    data: t.expose("data", { type: "JSON", description: "The event's payload." }),
    traceId: t.exposeString("traceId", { nullable: true }),
  }),
});

/**
 * Passes events through and turns a stream's final error into this field's GraphQL error. The
 * multiplexer executes each event once for every subscriber of a cohort, so nothing below a
 * subscription field may read the per-request context.
 */
function resolveItem(item: StreamItem): OrderEvent {
  if (item instanceof Error) throw item;
  return item;
}

builder.subscriptionFields((t) => ({
  orderEvents: t.field({
    type: OrderEventRef,
    description:
      "One order's events: its history first, then live, each exactly once and in order. To resume after a disconnect, pass the cursor of the last event you saw as `after`.",
    args: {
      orderId: t.arg.id({ required: true }),
      after: t.arg.string({ description: "Only events after this cursor." }),
    },
    subscribe: async (_root, args, { services, auth }) => {
      await watchableOrder(auth, String(args.orderId), services.orders);
      return services.feed.orderEvents(String(args.orderId), args.after ?? undefined);
    },
    resolve: resolveItem,
  }),
  events: t.field({
    type: OrderEventRef,
    description:
      "Every event of every order. With `after`, the events since that cursor first, then live; without it, live from now.",
    args: { after: t.arg.string({ description: "Only events after this cursor." }) },
    subscribe: (_root, args, { services, auth }) => {
      operatorOnly(auth);
      return services.feed.events(args.after ?? undefined);
    },
    resolve: resolveItem,
  }),
}));
