import { setTimeout as sleep } from "node:timers/promises";
import type { Random } from "./random.ts";

/** What an order is meant to exercise, and so how it must end. */
export type OrderKind = "normal" | "scarce" | "declined";

/** The sku kept nearly sold out, so that some orders are rejected for stock. */
export const SCARCE_SKU = "HD-001";
/** Skus with plenty of stock. */
export const PLENTIFUL_SKUS = [
  "CB-001",
  "DK-001",
  "KB-001",
  "LS-001",
  "MN-001",
  "MS-001",
  "WC-001",
];

/** One order of the soak, as planned and as it went. */
export interface SoakOrder {
  index: number;
  kind: OrderKind;
  input: {
    customerId: string;
    items: Array<{ sku: string; quantity: number }>;
    paymentToken: string;
    idempotencyKey: string;
  };
  /** The order's id, once an attempt returned it (the order is then accepted). */
  orderId?: string;
  /** placeOrder calls made, the accepted one included. */
  attempts: number;
  /** A refusal that retrying cannot change (a GraphQL error with a user-facing code). */
  refusal?: string;
  firstAttemptAt?: number;
  acceptedAt?: number;
  /** A later call with the same key: the order id it returned (must be the same). */
  replayedOrderId?: string;
  /** Why attempts failed and were retried, with how many times each. */
  retryReasons: Map<string, number>;
}

/** Plans the soak's orders: mostly normal ones, some for the scarce sku, some declined. */
export function planOrders(count: number, random: Random, runId: string): SoakOrder[] {
  return Array.from({ length: count }, (_, index) => {
    const roll = random.next();
    const kind: OrderKind = roll < 0.7 ? "normal" : roll < 0.85 ? "scarce" : "declined";
    const plentiful = { sku: random.pick(PLENTIFUL_SKUS), quantity: random.between(1, 2) };
    const items =
      kind === "scarce"
        ? [
            { sku: SCARCE_SKU, quantity: random.between(1, 2) },
            ...(random.chance(0.5) ? [plentiful] : []),
          ]
        : [plentiful];
    return {
      index,
      kind,
      input: {
        customerId: `chaos-${index % 97}`,
        items,
        paymentToken: kind === "declined" ? "tok_chargeDeclined" : "tok_visa",
        idempotencyKey: `${runId}-${index}`,
      },
      attempts: 0,
      retryReasons: new Map(),
    };
  });
}

const PLACE_ORDER = `mutation ChaosPlace($input: PlaceOrderInput!) {
  placeOrder(input: $input) { order { id } }
}`;

/** Error codes that say the request itself is wrong: retrying it cannot help. */
const FINAL_CODES = new Set(["BAD_USER_INPUT", "UNKNOWN_SKU", "IDEMPOTENCY_CONFLICT"]);

type Attempt = { orderId: string } | { refusal: string } | { retry: string };

async function attempt(graphqlUrl: string, order: SoakOrder): Promise<Attempt> {
  let response: Response;
  try {
    response = await fetch(graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ query: PLACE_ORDER, variables: { input: order.input } }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    return { retry: error instanceof Error ? error.message : String(error) };
  }
  const text = await response.text().catch(() => "");
  let body: {
    data?: { placeOrder?: { order?: { id?: string } } } | null;
    errors?: Array<{ message: string; extensions?: { code?: string } }>;
  };
  try {
    body = JSON.parse(text);
  } catch {
    return { retry: `HTTP ${response.status}: ${text.slice(0, 200)}` };
  }
  const orderId = body.data?.placeOrder?.order?.id;
  if (orderId) return { orderId };
  const error = body.errors?.[0];
  const code = error?.extensions?.code ?? "";
  if (FINAL_CODES.has(code)) return { refusal: `${code}: ${error?.message}` };
  return { retry: `${response.status} ${code} ${error?.message ?? text.slice(0, 200)}` };
}

/**
 * Places an order, retrying with the same idempotency key until an attempt returns it (the
 * gateway may be down, or Redis): the key makes every retry name one order. Gives up only at
 * `deadline` (epoch ms) or on a refusal that retrying cannot change.
 */
export async function placeWithRetry(
  graphqlUrl: string,
  order: SoakOrder,
  deadline: number,
): Promise<void> {
  order.firstAttemptAt = Date.now();
  let delayMs = 100;
  while (Date.now() < deadline) {
    order.attempts += 1;
    const result = await attempt(graphqlUrl, order);
    if ("orderId" in result) {
      order.orderId = result.orderId;
      order.acceptedAt = Date.now();
      return;
    }
    if ("refusal" in result) {
      order.refusal = result.refusal;
      return;
    }
    const reason = result.retry.slice(0, 120);
    order.retryReasons.set(reason, (order.retryReasons.get(reason) ?? 0) + 1);
    await sleep(delayMs);
    delayMs = Math.min(1_000, delayMs * 2);
  }
}

/**
 * Calls placeOrder again with an accepted order's idempotency key (a client that did not see
 * the answer and retried later) and records the id it returns, which must be the same.
 */
export async function replay(graphqlUrl: string, order: SoakOrder, deadline: number) {
  let delayMs = 100;
  while (Date.now() < deadline) {
    const result = await attempt(graphqlUrl, order);
    if ("orderId" in result) {
      order.replayedOrderId = result.orderId;
      return;
    }
    if ("refusal" in result) {
      order.replayedOrderId = result.refusal;
      return;
    }
    await sleep(delayMs);
    delayMs = Math.min(1_000, delayMs * 2);
  }
}
