/**
 * The gateway under load: placeOrder at a constant arrival rate (PROFILE=constant, the default)
 * or ramping up and down (PROFILE=ramping), every request with its own W3C traceparent so the
 * run shows up in Jaeger. Checks each answer; fails the run on errors or slow answers.
 *
 *   k6 run load-tests/gateway.ts                                   # 100/s for 60 s
 *   k6 run -e RATE=500 -e DURATION=120 load-tests/gateway.ts
 *   k6 run -e PROFILE=ramping -e RATE=1000 load-tests/gateway.ts   # 0 → 1000/s → 0
 */
import { check } from "k6";
import { Rate } from "k6/metrics";
import type { Options, Scenario } from "k6/options";
import { numberFromEnv, stringFromEnv } from "./lib/config.ts";
import { CATALOG } from "./lib/events.ts";
import { graphql, PLACE_ORDER, type PlacedOrder, restockAll } from "./lib/graphql.ts";

const PROFILE = stringFromEnv("PROFILE", "constant");
/** Orders per second (the peak, when ramping). */
const RATE = numberFromEnv("RATE", 100);
/** Seconds at RATE (constant), or of the plateau (ramping). */
const DURATION = numberFromEnv("DURATION", 60);
/** p95 and p99 bounds of placeOrder, in ms. */
const P95_MS = numberFromEnv("P95_MS", 100);
const P99_MS = numberFromEnv("P99_MS", 250);

const scenarios: Record<string, Scenario> = {
  constant: {
    executor: "constant-arrival-rate",
    rate: RATE,
    timeUnit: "1s",
    duration: `${DURATION}s`,
    preAllocatedVUs: Math.max(10, Math.ceil(RATE / 10)),
    maxVUs: Math.max(100, RATE * 2),
  },
  ramping: {
    executor: "ramping-arrival-rate",
    startRate: 0,
    timeUnit: "1s",
    preAllocatedVUs: Math.max(10, Math.ceil(RATE / 10)),
    maxVUs: Math.max(100, RATE * 2),
    stages: [
      { target: Math.ceil(RATE / 4), duration: "30s" },
      { target: RATE, duration: "60s" },
      { target: RATE, duration: `${DURATION}s` },
      { target: 0, duration: "30s" },
    ],
  },
};

const scenario = scenarios[PROFILE];
if (!scenario) throw new Error(`PROFILE must be constant or ramping, got ${PROFILE}`);

/** Share of placeOrder calls answered with a GraphQL error. */
const graphqlErrors = new Rate("graphql_errors");

export const options: Options = {
  scenarios: { placeOrder: scenario },
  thresholds: {
    http_req_failed: ["rate<0.01"],
    graphql_errors: ["rate<0.01"],
    checks: ["rate>0.99"],
    "http_req_duration{name:placeOrder}": [`p(95)<${P95_MS}`, `p(99)<${P99_MS}`],
  },
  summaryTrendStats: ["avg", "min", "med", "p(90)", "p(95)", "p(99)", "max"],
};

/** Stock for the longest profile at RATE, so no order is rejected for stock. */
export function setup(): { skus: string[] } {
  const totalOrders = RATE * (DURATION + 120);
  return { skus: restockAll(totalOrders) };
}

export default function placeOrder(data: { skus: string[] }): void {
  const skus = data.skus.length > 0 ? data.skus : CATALOG.map((product) => product.sku);
  const sku = skus[Math.floor(Math.random() * skus.length)] as string;
  const { response, body } = graphql<PlacedOrder>("placeOrder", PLACE_ORDER, {
    input: {
      customerId: `k6-${__VU}`,
      items: [{ sku, quantity: 1 }],
      paymentToken: "tok_visa",
    },
  });
  const hasErrors = (body?.errors?.length ?? 0) > 0;
  graphqlErrors.add(hasErrors);
  check(response, {
    "status is 200": (r) => r.status === 200,
    "no GraphQL errors": () => !hasErrors,
    "order is PENDING with an id": () => {
      const order = body?.data?.placeOrder.order;
      return Boolean(order?.id) && order?.status === "PENDING";
    },
  });
}
