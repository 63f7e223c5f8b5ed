import { fileURLToPath } from "node:url";
import { booleanFromEnv, commonEnvShape, consumerEnvShape, parseEnv } from "@conveyor/runtime";
import { z } from "zod";

const positiveInt = z.coerce.number().int().positive();

/** The gateway's settings, each with its default (see the root README for what they mean). */
export const gatewayEnvShape = {
  ...commonEnvShape,
  /** GraphQL, GraphiQL, graphql-sse, `/healthz` and `/readyz` all listen here; 0 picks a free port. */
  PORT: z.coerce.number().int().min(0).max(65_535).default(4000),
  HOST: z.string().min(1).default("0.0.0.0"),
  /** Stock of each product when the catalog is first seeded (never resets existing stock). */
  CATALOG_INITIAL_STOCK: z.coerce.number().int().nonnegative().default(1000),
  /** Events one subscriber may have waiting before it is closed as too slow. */
  SUBSCRIBER_BUFFER_SIZE: positiveInt.default(1000),
  /** Approximate bound of the projected event feed (the `events` subscription's history). */
  FEED_MAX_LENGTH: positiveInt.default(100_000),
  /** Entries one read of the feed returns (live loop and `events(after)` catch-up pages). */
  FEED_BATCH_SIZE: positiveInt.default(500),
  /** The built dashboard, served at `/`. */
  WEB_DIST_DIR: z.string().default(fileURLToPath(new URL("../../web/dist", import.meta.url))),
  /** Link to a trace; `{traceId}` is replaced. Empty turns trace links off. */
  TRACE_LINK_TEMPLATE: z.string().default("http://localhost:16686/trace/{traceId}"),
  /** How long an idempotency key of placeOrder is remembered. */
  IDEMPOTENCY_TTL_SECONDS: positiveInt.default(86_400),
  /** placeOrder calls per client address per minute; 0 = unlimited. Default: 600 in production. */
  PLACE_ORDER_RATE_LIMIT: z.coerce.number().int().nonnegative().optional(),
  /** Largest accepted request body. */
  MAX_REQUEST_BODY_BYTES: positiveInt.default(1_000_000),
  /** GraphiQL at `/graphql`. Default: on, except in production. */
  GRAPHIQL: booleanFromEnv.optional(),
  /** Schema introspection. Default: on, except in production. */
  INTROSPECTION: booleanFromEnv.optional(),
  /** How often pipeline health samples consumer-group progress, and over what window. */
  HEALTH_SAMPLE_INTERVAL_MS: positiveInt.default(1_000),
  HEALTH_WINDOW_MS: positiveInt.default(10_000),
  /** The read model's consumer group `gateway`: the same settings as a worker's. */
  ...consumerEnvShape,
};

/** The gateway's settings, parsed. */
export const GatewayEnv = z.object(gatewayEnvShape);
export type GatewayEnv = z.infer<typeof GatewayEnv>;

/** Parses the process's environment once at start; exits with every problem listed if invalid. */
export function loadGatewayEnv(source: NodeJS.ProcessEnv = process.env): GatewayEnv {
  return parseEnv(gatewayEnvShape, source);
}
