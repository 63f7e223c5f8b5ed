/**
 * Time to SHIPPED: places orders at a constant arrival rate and, for each, polls `order(id)`
 * until its status is SHIPPED, recording the time from placeOrder to the poll that saw it
 * (`time_to_shipped`, so its resolution is POLL_MS). k6 has no SSE client, hence polling; the
 * Node bench (`npm run bench`) measures the same over a subscription.
 *
 *   k6 run load-tests/end-to-end.ts                          # 50 orders/s for 60 s
 *   k6 run -e RATE=200 -e POLL_MS=50 load-tests/end-to-end.ts
 */
import { check, sleep } from "k6";
import { Counter, Rate, Trend } from "k6/metrics";
import type { Options } from "k6/options";
import { numberFromEnv } from "./lib/config.ts";
import { CATALOG } from "./lib/events.ts";
import { graphql, ORDER_STATUS, PLACE_ORDER, type PlacedOrder, restockAll } from "./lib/graphql.ts";

const RATE = numberFromEnv("RATE", 50);
const DURATION = numberFromEnv("DURATION", 60);
/** How often one order's status is polled, in ms. */
const POLL_MS = numberFromEnv("POLL_MS", 100);
/** Give up on an order after this long, in ms. */
const TIMEOUT_MS = numberFromEnv("TIMEOUT_MS", 30_000);
const P95_MS = numberFromEnv("P95_MS", 1_000);
const P99_MS = numberFromEnv("P99_MS", 2_000);

const timeToShipped = new Trend("time_to_shipped", true);
const shipped = new Rate("orders_shipped");
const polls = new Counter("status_polls");

/** Each VU holds one order until it ships: enough VUs for RATE × the slowest expected order. */
const vusNeeded = Math.ceil((RATE * (TIMEOUT_MS / 1000)) / 4);

export const options: Options = {
  scenarios: {
    orders: {
      executor: "constant-arrival-rate",
      rate: RATE,
      timeUnit: "1s",
      duration: `${DURATION}s`,
      preAllocatedVUs: Math.max(10, Math.ceil(RATE / 2)),
      maxVUs: Math.max(50, vusNeeded),
      gracefulStop: `${Math.ceil(TIMEOUT_MS / 1000) + 5}s`,
    },
  },
  thresholds: {
    orders_shipped: ["rate>0.99"],
    time_to_shipped: [`p(95)<${P95_MS}`, `p(99)<${P99_MS}`],
    http_req_failed: ["rate<0.01"],
  },
  summaryTrendStats: ["avg", "min", "med", "p(90)", "p(95)", "p(99)", "max"],
};

export function setup(): { skus: string[] } {
  return { skus: restockAll(RATE * (DURATION + 60)) };
}

export default function placeAndWait(data: { skus: string[] }): void {
  const skus = data.skus.length > 0 ? data.skus : CATALOG.map((product) => product.sku);
  const sku = skus[Math.floor(Math.random() * skus.length)] as string;
  const started = Date.now();
  const placed = graphql<PlacedOrder>("placeOrder", PLACE_ORDER, {
    input: { customerId: `k6-e2e-${__VU}`, items: [{ sku, quantity: 1 }] },
  });
  const orderId = placed.body?.data?.placeOrder.order.id;
  if (!check(placed.response, { "order placed": () => Boolean(orderId) })) {
    shipped.add(false);
    return;
  }
  while (Date.now() - started < TIMEOUT_MS) {
    sleep(POLL_MS / 1000);
    polls.add(1);
    const { body } = graphql<{ order: { status: string } | null }>("order", ORDER_STATUS, {
      id: orderId,
    });
    const status = body?.data?.order?.status;
    if (status === "SHIPPED") {
      timeToShipped.add(Date.now() - started);
      shipped.add(true);
      return;
    }
    if (status === "REJECTED" || status === "CANCELLED") {
      check(status, { "order shipped": () => false });
      shipped.add(false);
      return;
    }
  }
  shipped.add(false);
}
