import { canSeeOrdersOf, customerIdForNewOrder, orderListScope, signedIn } from "../auth/rules.ts";
import { gatewayError } from "../errors.ts";
import { measurePlaceOrder } from "../metrics.ts";
import type { OrderPage } from "../orders/order-store.ts";
import { ORDER_STATUSES, type Order } from "../read-model/records.ts";
import { builder } from "./builder.ts";
import { OrderEventRef } from "./event.ts";
import { MoneyRef } from "./money.ts";

const MAX_PAGE_SIZE = 100;

/** The GraphQL `OrderStatus` enum. */
export const OrderStatusRef = builder.enumType("OrderStatus", {
  description: "Where an order is in the pipeline.",
  values: ORDER_STATUSES,
});

const OrderItemRef = builder
  .objectRef<Order["items"][number] & { currency: string }>("OrderItem")
  .implement({
    description: "One line of an order, priced when the order was placed.",
    fields: (t) => ({
      sku: t.exposeString("sku"),
      quantity: t.exposeInt("quantity"),
      unitPrice: t.field({
        type: MoneyRef,
        resolve: (item) => ({ amountCents: item.unitPriceCents, currency: item.currency }),
      }),
    }),
  });

/** The GraphQL `Order` type. */
export const OrderRef = builder.objectRef<Order>("Order").implement({
  description: "An order as the read model sees it: status, lines, total and history.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "A ULID: ids sort by creation time." }),
    status: t.expose("status", { type: OrderStatusRef }),
    customerId: t.exposeString("customerId"),
    items: t.field({
      type: [OrderItemRef],
      resolve: (order) => order.items.map((item) => ({ ...item, currency: order.currency })),
    }),
    total: t.field({
      type: MoneyRef,
      resolve: (order) => ({ amountCents: order.totalCents, currency: order.currency }),
    }),
    traceId: t.exposeString("traceId", {
      nullable: true,
      description: "The order's trace (one trace per order), when tracing is on.",
    }),
    traceUrl: t.string({
      nullable: true,
      description: "A link to the order's trace in the trace viewer.",
      resolve: (order, _args, { services }) =>
        order.traceId ? services.traceUrl(order.traceId) : null,
    }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
    failureReason: t.exposeString("failureReason", {
      nullable: true,
      description: "Why the order was rejected or its payment failed.",
    }),
    events: t.field({
      type: [OrderEventRef],
      description: "Everything that happened to the order so far, oldest first.",
      resolve: (order, _args, { services }) => services.orders.history(order.id),
    }),
  }),
});

/** A page's position in its list, per the Relay cursor connections spec. */
export interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

/** The GraphQL `PageInfo` type, shared by every connection. */
export const PageInfoRef = builder.objectRef<PageInfo>("PageInfo").implement({
  description: "Where a page is in its list (Relay cursor connections).",
  fields: (t) => ({
    hasNextPage: t.exposeBoolean("hasNextPage", {
      description: "Whether there are items after this page.",
    }),
    hasPreviousPage: t.exposeBoolean("hasPreviousPage", {
      description:
        "Whether there are items before this page. Pages are read forward (first/after): true when the page starts after a cursor.",
    }),
    startCursor: t.exposeString("startCursor", {
      nullable: true,
      description: "The cursor of the first item of the page; null for an empty page.",
    }),
    endCursor: t.exposeString("endCursor", {
      nullable: true,
      description: "Pass as `after` to get the next page; null for an empty page.",
    }),
  }),
});

const OrderEdgeRef = builder.objectRef<Order>("OrderEdge").implement({
  fields: (t) => ({
    cursor: t.exposeString("id"),
    node: t.field({ type: OrderRef, resolve: (order) => order }),
  }),
});

/** A page of orders and the cursor it was asked after. */
type OrderConnection = OrderPage & { after: string | undefined };

const OrderConnectionRef = builder.objectRef<OrderConnection>("OrderConnection").implement({
  description: "A page of orders, newest first (Relay-style cursor connection).",
  fields: (t) => ({
    edges: t.field({ type: [OrderEdgeRef], resolve: (page) => page.orders }),
    nodes: t.field({ type: [OrderRef], resolve: (page) => page.orders }),
    pageInfo: t.field({
      type: PageInfoRef,
      resolve: (page) => ({
        hasNextPage: page.hasNextPage,
        // Forward paging: a page asked after a cursor has at least that order before it.
        hasPreviousPage: page.after !== undefined,
        startCursor: page.orders[0]?.id ?? null,
        endCursor: page.endCursor,
      }),
    }),
    totalCount: t.exposeInt("totalCount", { description: "Orders in the list (all pages)." }),
  }),
});

const OrderItemInputRef = builder.inputType("OrderItemInput", {
  fields: (t) => ({
    sku: t.string({ required: true }),
    quantity: t.int({ required: true, description: "1 to 1000." }),
  }),
});

const PlaceOrderInputRef = builder.inputType("PlaceOrderInput", {
  fields: (t) => ({
    customerId: t.string({ required: true, description: "1 to 128 characters." }),
    items: t.field({ type: [OrderItemInputRef], required: true, description: "1 to 50 lines." }),
    paymentToken: t.string({
      description:
        "A test card token: tok_visa (the default) is approved, tok_chargeDeclined is declined.",
    }),
    idempotencyKey: t.string({
      description:
        "Up to 128 characters. Retrying with the same key returns the same order and publishes nothing new.",
    }),
  }),
});

const PlaceOrderPayloadRef = builder.objectRef<{ order: Order }>("PlaceOrderPayload").implement({
  fields: (t) => ({ order: t.field({ type: OrderRef, resolve: (payload) => payload.order }) }),
});

builder.queryFields((t) => ({
  order: t.field({
    type: OrderRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    description: "An order; null when there is none (or, for a customer, when it is another's).",
    resolve: async (_root, args, { services, auth }) => {
      signedIn(auth);
      const order = await services.orders.get(String(args.id));
      return order && canSeeOrdersOf(auth, order.customerId) ? order : null;
    },
  }),
  orders: t.field({
    type: OrderConnectionRef,
    description:
      "Orders, newest first, optionally of one status: every order for an operator, its own for a customer.",
    args: {
      first: t.arg.int({ defaultValue: 20, description: `1 to ${MAX_PAGE_SIZE}.` }),
      after: t.arg.string({ description: "The endCursor of the previous page." }),
      status: t.arg({ type: OrderStatusRef }),
    },
    resolve: async (_root, args, { services, auth }) => {
      const customerId = orderListScope(auth);
      const first = args.first ?? 20;
      if (first < 1 || first > MAX_PAGE_SIZE) {
        throw gatewayError("BAD_USER_INPUT", `first must be between 1 and ${MAX_PAGE_SIZE}`);
      }
      if (args.after && args.after.length > 64) {
        throw gatewayError("BAD_USER_INPUT", "after must be the endCursor of a previous page");
      }
      const after = args.after ?? undefined;
      const page = await services.orders.list({
        first,
        after,
        status: args.status ?? undefined,
        customerId,
      });
      return { ...page, after };
    },
  }),
}));

builder.mutationFields((t) => ({
  placeOrder: t.field({
    type: PlaceOrderPayloadRef,
    description: "Places an order: it is priced from the catalog and published as order.created.",
    args: { input: t.arg({ type: PlaceOrderInputRef, required: true }) },
    resolve: (_root, { input }, { services, clientAddress, auth }) =>
      measurePlaceOrder(async () => {
        const customerId = customerIdForNewOrder(auth, input.customerId);
        const decision = await services.placeOrderLimiter.tryTake(clientAddress);
        if (!decision.isAllowed) {
          const retryAfterSeconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
          throw gatewayError(
            "RATE_LIMITED",
            `Too many orders from this client; retry in ${retryAfterSeconds} s.`,
            // Yoga turns `http.headers` into response headers (and sends no `http` extension).
            { retryAfterSeconds, http: { headers: { "Retry-After": String(retryAfterSeconds) } } },
          );
        }
        return { order: await services.placeOrder({ ...input, customerId }) };
      }),
  }),
}));
