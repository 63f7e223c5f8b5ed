import { createHash } from "node:crypto";
import { createPriceBook, type Price } from "@conveyor/catalog";
import {
  createEvent,
  createUlidFactory,
  idInPartition,
  type Keys,
  type OrderLine,
  partitionOfIdempotencyKey,
} from "@conveyor/contract";
import type { RedisClient } from "@conveyor/runtime";
import { withProducerSpans } from "@conveyor/runtime";
import { gatewayError } from "../errors.ts";
import { type Order, traceIdOf } from "../read-model/records.ts";
import { PlaceOrderInput } from "./order-input.ts";
import type { OrderStore } from "./order-store.ts";
import { type NewOrder, storeNewOrder } from "./place-order-script.ts";

/** The largest amount a `Money.amountCents` can carry (GraphQL `Int` is 32-bit). */
export const MAX_TOTAL_CENTS = 2 ** 31 - 1;

/** Options of {@link createOrderPlacer}. */
export interface OrderPlacerOptions {
  redis: RedisClient;
  keys: Keys;
  orders: OrderStore;
  /** How long an idempotency key keeps naming its order. */
  idempotencyTtlSeconds: number;
  /** How long a catalog price is reused before it is read again (see `createPriceBook`). */
  priceMaxAgeMs: number;
}

/** Places orders: validates, prices from the catalog, stores and publishes `order.created`. */
export type PlaceOrder = (input: unknown) => Promise<Order>;

/** Order ids are ULIDs, monotonic within the process, so `orders` lists newest first by id. */
const nextOrderId = createUlidFactory();

/** What makes two requests "the same" for an idempotency key: everything the order is made of. */
function requestHashOf(input: PlaceOrderInput): string {
  const { customerId, items, paymentToken } = input;
  const canonical = JSON.stringify({
    customerId,
    items: items.map(({ sku, quantity }) => [sku, quantity]),
    paymentToken,
  });
  return createHash("sha256").update(canonical).digest("hex");
}

function describeIssue(issue: { path: readonly PropertyKey[]; message: string }): string {
  const path = issue.path
    .map((part, index) =>
      typeof part === "number" ? `[${part}]` : `${index ? "." : ""}${String(part)}`,
    )
    .join("");
  return path ? `${path}: ${issue.message}` : issue.message;
}

/** The order as the placeOrder script stores it: PENDING, made of its `order.created` event. */
function newOrderOf(event: NewOrder["event"], traceId: string | null): Order {
  const { customerId, items, totalCents, currency } = event.data;
  return {
    id: event.orderId,
    status: "PENDING",
    customerId,
    items,
    totalCents,
    currency,
    traceId,
    createdAt: event.occurredAt,
    updatedAt: event.occurredAt,
    failureReason: null,
  };
}

/**
 * Makes placeOrder. Bad input is answered with a GraphQL error (BAD_USER_INPUT, UNKNOWN_SKU,
 * IDEMPOTENCY_CONFLICT) before anything is written; a valid order is created and published in
 * one atomic step, and the same idempotency key always returns the same order.
 */
export function createOrderPlacer(options: OrderPlacerOptions): PlaceOrder {
  const { redis, keys, orders, idempotencyTtlSeconds } = options;
  const partitionCount = keys.partitions.length;

  /**
   * A new order id in the partition of an idempotency key: the key and the order it names are
   * written by one script, so they share a partition, which the key (what a retry knows) picks.
   */
  function orderIdFor(customerId: string, idempotencyKey: string): string {
    const partition = partitionOfIdempotencyKey(customerId, idempotencyKey, partitionCount);
    return idInPartition(nextOrderId, partition, partitionCount);
  }
  const priceBook = createPriceBook(redis, keys, { maxAgeMs: options.priceMaxAgeMs });

  async function price(
    input: PlaceOrderInput,
  ): Promise<{ lines: OrderLine[]; totalCents: number; currency: string }> {
    const prices = await priceBook.pricesOf(input.items.map((item) => item.sku));
    const unknown = [...new Set(input.items.map((item) => item.sku))].filter(
      (sku) => !prices.has(sku),
    );
    if (unknown.length > 0) {
      throw gatewayError(
        "UNKNOWN_SKU",
        `Unknown sku${unknown.length > 1 ? "s" : ""}: ${unknown.join(", ")}. Query products for the catalog.`,
        { skus: unknown },
      );
    }
    const lines = input.items.map(({ sku, quantity }) => ({
      sku,
      quantity,
      unitPriceCents: (prices.get(sku) as Price).priceCents,
    }));
    const currencies = new Set(input.items.map(({ sku }) => prices.get(sku)?.currency));
    if (currencies.size > 1) {
      throw gatewayError("BAD_USER_INPUT", "All items of an order must be priced in one currency.");
    }
    const totalCents = lines.reduce((sum, line) => sum + line.unitPriceCents * line.quantity, 0);
    if (totalCents > MAX_TOTAL_CENTS) {
      throw gatewayError(
        "BAD_USER_INPUT",
        `The order total (${totalCents} cents) is above the largest order we take (${MAX_TOTAL_CENTS} cents).`,
      );
    }
    return { lines, totalCents, currency: [...currencies][0] as string };
  }

  return async (raw) => {
    const parsed = PlaceOrderInput.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw gatewayError(
        "BAD_USER_INPUT",
        issue ? `Invalid input: ${describeIssue(issue)}` : "Invalid input",
        { issues: parsed.error.issues.map(describeIssue) },
      );
    }
    const input = parsed.data;
    const { lines, totalCents, currency } = await price(input);
    // Encoded so that ":" in either part cannot make two customers' keys collide.
    const idempotencyParts = input.idempotencyKey
      ? ([encodeURIComponent(input.customerId), encodeURIComponent(input.idempotencyKey)] as const)
      : undefined;
    const event = createEvent({
      type: "order.created",
      orderId: idempotencyParts ? orderIdFor(...idempotencyParts) : nextOrderId(),
      producer: "gateway",
      data: {
        customerId: input.customerId,
        items: lines,
        totalCents,
        currency,
        paymentToken: input.paymentToken,
      },
    });
    const idempotency: NewOrder["idempotency"] = idempotencyParts
      ? {
          key: keys.forOrder(event.orderId).idempotency(...idempotencyParts),
          requestHash: requestHashOf(input),
          ttlSeconds: idempotencyTtlSeconds,
        }
      : undefined;
    const { outcome, created } = await withProducerSpans([event], async ([stamped]) => {
      const published = (stamped ?? event) as typeof event;
      const traceId = traceIdOf(published.traceparent);
      return {
        outcome: await storeNewOrder(redis, keys, {
          event: published,
          idempotency,
          traceId: traceId ?? "",
        }),
        created: newOrderOf(published, traceId),
      };
    });
    if (outcome.kind === "conflict") {
      throw gatewayError(
        "IDEMPOTENCY_CONFLICT",
        "This idempotencyKey was already used for a different order; use a new key for a new order.",
      );
    }
    // A new order is what the script just wrote; only a replayed key needs its order read.
    if (outcome.kind === "created") return created;
    const order = await orders.get(outcome.orderId);
    if (!order) throw new Error(`order ${outcome.orderId} is missing from the read model`);
    return order;
  };
}
