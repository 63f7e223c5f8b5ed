import type { Keys } from "@conveyor/contract";
import type { Redis } from "ioredis";
import type { FeedSubscriptions } from "../feed/subscriptions.ts";
import type { PipelineHealth } from "../health/pipeline-health.ts";
import type { OrderStore } from "../orders/order-store.ts";
import type { PlaceOrder } from "../orders/place-order.ts";
import type { RateLimiter } from "../orders/rate-limit.ts";

/** What resolvers work with; made once per gateway process. */
export interface GatewayServices {
  redis: Redis;
  keys: Keys;
  orders: OrderStore;
  placeOrder: PlaceOrder;
  placeOrderLimiter: RateLimiter;
  feed: FeedSubscriptions;
  health: PipelineHealth;
  /** A link to a trace in the trace viewer, or null when links are off. */
  traceUrl(traceId: string): string | null;
}

/** The GraphQL context of one operation. */
export interface GatewayContext {
  services: GatewayServices;
  /** The caller's network address, for per-client limits. */
  clientAddress: string;
}
