import { fileURLToPath } from "node:url";
import { booleanFromEnv, commonEnvShape, consumerEnvShape } from "@conveyor/runtime";
import { z } from "zod";

const positiveInt = z.coerce.number().int().positive();
/** A count where 0 turns the check off. */
const limit = z.coerce.number().int().nonnegative();

/**
 * `CORS_ORIGINS`: origins allowed to call the API from a browser, comma-separated
 * (`https://shop.example,https://admin.example`), or `*` for any.
 */
const originList = z
  .string()
  .transform((value) =>
    value
      .split(",")
      .map((origin) => origin.trim())
      .filter(Boolean),
  )
  .pipe(
    z.array(
      z.union([
        z.literal("*"),
        z
          .url({ protocol: /^https?$/ })
          .refine(
            (origin) => URL.canParse(origin) && new URL(origin).origin === origin,
            "an origin has no path or slash",
          ),
      ]),
    ),
  );

/** `TRUST_PROXY`: how many reverse proxies stand in front; `true` means one, `false` none. */
const proxyHops = z
  .enum(["true", "false"])
  .transform((value) => (value === "true" ? 1 : 0))
  .or(z.coerce.number().int().nonnegative());

/** An optional setting where an empty value (`AUTH_JWT_SECRET=` in a .env file) means unset. */
const unsetIfEmpty = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === "" ? undefined : value), schema.optional());

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
  /** How long placeOrder reuses a catalog price before reading it again (0: every order). */
  PRICE_MAX_AGE_MS: limit.default(5_000),
  /**
   * placeOrder calls per client address per minute, counted in Redis so that every replica
   * shares the count; 0 = unlimited. Default: 600 in production, unlimited otherwise.
   */
  PLACE_ORDER_RATE_LIMIT: z.coerce.number().int().nonnegative().optional(),
  /** Largest accepted request body. */
  MAX_REQUEST_BODY_BYTES: positiveInt.default(1_000_000),
  /**
   * Reverse proxies in front of the gateway whose `X-Forwarded-For` is trusted (0 = none: the
   * client is the socket's address). With N, the client is the N-th address from the right.
   */
  TRUST_PROXY: proxyHops.default(0),
  /** Deepest selection a query may have (fragments do not add a level); 0 = no limit. */
  MAX_QUERY_DEPTH: limit.default(10),
  /** Most aliases one operation may use; 0 = no limit. */
  MAX_QUERY_ALIASES: limit.default(30),
  /** Highest static cost of one operation (GraphQL Armor's cost model); 0 = no limit. */
  MAX_QUERY_COST: limit.default(5_000),
  /** Most tokens one document may have; 0 = no limit. */
  MAX_QUERY_TOKENS: limit.default(2_000),
  /** Most directives one operation may use; 0 = no limit. */
  MAX_QUERY_DIRECTIVES: limit.default(20),
  /** Hides "Did you mean …?" in validation errors. Default: on in production. */
  BLOCK_FIELD_SUGGESTIONS: booleanFromEnv.optional(),
  /** Time to receive a whole request (headers and body); SSE responses are not bounded by it. */
  REQUEST_TIMEOUT_MS: positiveInt.default(30_000),
  /** Time to receive a request's headers. */
  HEADERS_TIMEOUT_MS: positiveInt.default(10_000),
  /** How long an idle keep-alive connection stays open between requests. */
  KEEP_ALIVE_TIMEOUT_MS: positiveInt.default(5_000),
  /**
   * Output a graphql-sse stream may have waiting for its client; past it, its subscriptions wait
   * (live events fill the subscriber's buffer, `SUBSCRIBER_BUFFER_SIZE`). 0 = no limit; else at
   * least 64 KiB.
   */
  SSE_MAX_BUFFERED_BYTES: limit
    .refine((bytes) => bytes === 0 || bytes >= 65_536, "0 or at least 65536")
    .default(1024 * 1024),
  /** How long a graphql-sse stream may stay past that limit without draining before it is cut. */
  SSE_STALL_TIMEOUT_MS: positiveInt.default(30_000),
  /** Browser origins allowed by CORS. Default: any in development, none (same origin) in production. */
  CORS_ORIGINS: originList.optional(),
  /** `strict-transport-security` max-age; 0 = no header (set it when clients reach the gateway over HTTPS). */
  HSTS_MAX_AGE_SECONDS: limit.default(0),
  /** The dashboard's Content-Security-Policy; empty = no header. Default: self only. */
  CONTENT_SECURITY_POLICY: z.string().optional(),
  /** GraphiQL at `/graphql`. Default: on, except in production. */
  GRAPHIQL: booleanFromEnv.optional(),
  /** Schema introspection. Default: on, except in production. */
  INTROSPECTION: booleanFromEnv.optional(),
  /** How often pipeline health samples consumer-group progress, and over what window. */
  HEALTH_SAMPLE_INTERVAL_MS: positiveInt.default(1_000),
  HEALTH_WINDOW_MS: positiveInt.default(10_000),
  /**
   * Who may call the API (docs/security.md): `off` = everyone may do everything (no token is
   * read); `optional` = a bearer token when one is sent, the public catalog without; `required`
   * = every operation needs a valid token. Default: `required` in production, `off` otherwise.
   */
  AUTH_MODE: unsetIfEmpty(z.enum(["off", "optional", "required"])),
  /** The HS256 key that signs tokens (at least 32 characters); or set `AUTH_JWKS_URL`. */
  AUTH_JWT_SECRET: unsetIfEmpty(z.string().min(32, "at least 32 characters (256 bits)")),
  /** A JSON Web Key Set of RS256/ES256 public keys, fetched, cached and refetched on rotation. */
  AUTH_JWKS_URL: unsetIfEmpty(z.url({ protocol: /^https?$/ })),
  /** The `iss` every token must carry, when set. */
  AUTH_ISSUER: unsetIfEmpty(z.string()),
  /** The `aud` every token must carry, when set. */
  AUTH_AUDIENCE: unsetIfEmpty(z.string()),
  /** Clock difference tolerated on `exp` and `nbf`. */
  AUTH_CLOCK_SKEW_SECONDS: z.coerce.number().int().min(0).max(300).default(5),
  /** Puts the caller's id (`sub`) on the request's span as `enduser.id`. Off: ids are personal data. */
  TRACE_ENDUSER_ID: booleanFromEnv.default(false),
  /** The read model's consumer group `gateway`: the same settings as a worker's. */
  ...consumerEnvShape,
};

/** The mode {@link gatewayEnvShape}'s `AUTH_MODE` means once its default is applied. */
export function authModeOf(env: Pick<GatewayEnv, "AUTH_MODE" | "NODE_ENV">): AuthMode {
  return env.AUTH_MODE ?? (env.NODE_ENV === "production" ? "required" : "off");
}

/** One of `off`, `optional`, `required` (see `AUTH_MODE`). */
export type AuthMode = "off" | "optional" | "required";

/** The gateway's settings, parsed: with auth on, exactly one way to check signatures. */
export const GatewayEnv = z.object(gatewayEnvShape).superRefine((env, context) => {
  if (authModeOf(env) === "off") return;
  const keyCount =
    Number(env.AUTH_JWT_SECRET !== undefined) + Number(env.AUTH_JWKS_URL !== undefined);
  if (keyCount !== 1) {
    context.addIssue({
      code: "custom",
      path: ["AUTH_JWT_SECRET"],
      message: `AUTH_MODE=${authModeOf(env)}${env.AUTH_MODE ? "" : " (the default in production)"} needs exactly one of AUTH_JWT_SECRET (HS256) and AUTH_JWKS_URL (RS256/ES256)${keyCount === 0 ? "" : ", not both"}; or set AUTH_MODE=off`,
    });
  }
});
export type GatewayEnv = z.infer<typeof GatewayEnv>;

/** Parses the process's environment once at start; exits with every problem listed if invalid. */
export function loadGatewayEnv(source: NodeJS.ProcessEnv = process.env): GatewayEnv {
  // Like the runtime's parseEnv, with the cross-field check of the auth settings.
  const parsed = GatewayEnv.safeParse(source);
  if (!parsed.success) {
    console.error(`Invalid configuration:\n${z.prettifyError(parsed.error)}`);
    process.exit(1);
  }
  return parsed.data;
}
