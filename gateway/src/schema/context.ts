import type { Keys } from "@conveyor/contract";
import type { RedisClient } from "@conveyor/runtime";
import type { AuthIdentity } from "../auth/identity.ts";
import type { AuthMode } from "../env.ts";
import type { FeedSubscriptions } from "../feed/subscriptions.ts";
import type { PipelineHealth } from "../health/pipeline-health.ts";
import type { OrderStore } from "../orders/order-store.ts";
import type { PlaceOrder } from "../orders/place-order.ts";
import type { RateLimiter } from "../orders/rate-limit.ts";

/** What resolvers work with; made once per gateway process. */
export interface GatewayServices {
  redis: RedisClient;
  keys: Keys;
  orders: OrderStore;
  placeOrder: PlaceOrder;
  placeOrderLimiter: RateLimiter;
  feed: FeedSubscriptions;
  health: PipelineHealth;
  /** `AUTH_MODE` as applied (the dashboard asks for a token when it is not `off`). */
  authMode: AuthMode;
  /** A link to a trace in the trace viewer, or null when links are off. */
  traceUrl(traceId: string): string | null;
}

/** The GraphQL context of one operation. */
export interface GatewayContext {
  services: GatewayServices;
  /** Who is calling (auth/identity.ts), from the request's bearer token; the rules read it. */
  auth: AuthIdentity;
  /** The caller's network address, for per-client limits. */
  clientAddress: string;
}
