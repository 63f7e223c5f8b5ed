import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { seedCatalog } from "@conveyor/catalog";
import { EVENT_TYPES, type Keys } from "@conveyor/contract";
import {
  closeRedis,
  consumerSettingsOf,
  createLogger,
  createRedis,
  createStreamTrimmer,
  keysOf,
  type Logger,
  redisTargetOf,
  serverOf,
  setMessagingServer,
  topologyStreams,
} from "@conveyor/runtime";
import { createYoga } from "graphql-yoga";
import { tokenExpiredError } from "./auth/expiry.ts";
import { authScopeKey, expiresAtMsOf } from "./auth/identity.ts";
import { createAuthentication } from "./auth/plugin.ts";
import { createTokenVerifier } from "./auth/verify.ts";
import { authModeOf, type GatewayEnv } from "./env.ts";
import { createEventHub } from "./feed/event-hub.ts";
import { createFeedSubscriptions } from "./feed/subscriptions.ts";
import { createPipelineHealth } from "./health/pipeline-health.ts";
import { clientAddressOf } from "./http/client-address.ts";
import { renderLocalGraphiQL, useLocalGraphiQLAssets } from "./http/graphiql.ts";
import { useInputErrorCodes } from "./http/input-error-codes.ts";
import { maskGatewayError } from "./http/mask-errors.ts";
import { useNoIntrospection } from "./http/no-introspection.ts";
import { useQueryLimits } from "./http/query-limits.ts";
import { useReadiness } from "./http/readiness.ts";
import { useRequestBodyLimit } from "./http/request-body-limit.ts";
import { createHttpRouter } from "./http/router.ts";
import {
  DASHBOARD_CONTENT_SECURITY_POLICY,
  securityHeadersFor,
  useGraphiQLContentSecurityPolicy,
} from "./http/security-headers.ts";
import { yogaLoggerFor } from "./http/yoga-logger.ts";
import { observePipeline } from "./metrics.ts";
import { createOrderStore } from "./orders/order-store.ts";
import { createOrderPlacer } from "./orders/place-order.ts";
import { createRateLimiter } from "./orders/rate-limit.ts";
import { createProjector } from "./read-model/projector.ts";
import { type GatewayContext, type GatewayServices, schema } from "./schema/index.ts";
import { useGraphQLSse } from "./subscriptions/graphql-sse.ts";
import {
  createSubscriptionMultiplexer,
  type MultiplexerStats,
} from "./subscriptions/multiplexer.ts";
import { useMultiplexedSubscriptions } from "./subscriptions/yoga-sse.ts";

/** Options of {@link createGateway}. */
export interface GatewayOptions {
  /** The settings (see env.ts); tests build them with `GatewayEnv.parse({...})`. */
  env: GatewayEnv;
  /** Defaults to a pino logger named `gateway` at `env.LOG_LEVEL`. */
  logger?: Logger;
}

/** A running gateway: GraphQL over HTTP and SSE, the read model's projector and the feed hub. */
export interface Gateway {
  start(): Promise<void>;
  /** Closes connections, stops reading, drains the projector, closes Redis. Idempotent. */
  stop(): Promise<void>;
  /** The GraphQL endpoint, `http://127.0.0.1:<port>/graphql` (after start). */
  readonly url: string;
  /** The graphql-sse endpoint, `…/graphql/stream` (after start). */
  readonly streamUrl: string;
  /** The port it listens on (after start; useful with PORT=0). */
  readonly port: number;
  readonly keys: Keys;
  readonly logger: Logger;
  /** Cohorts, subscribers and executions of the subscription multiplexer, now. */
  subscriptionStats(): MultiplexerStats;
}

type ServerContext = { req: IncomingMessage; res: ServerResponse };

/**
 * Wires the gateway: Yoga with Yoga's SSE at `/graphql` and graphql-sse at `/graphql/stream`,
 * GraphiQL, `/healthz` and `/readyz` on one port; the projector (consumer group `gateway`) that
 * keeps the order read model; the event hub (one feed reader per process); stream trimming and
 * pipeline health sampling. Every operation is bounded (depth, aliases, cost, tokens,
 * directives), every response carries security headers, and slow requests and event streams
 * nobody reads are cut. In production GraphiQL, introspection and field suggestions are off,
 * unexpected errors are masked, CORS allows the same origin only and placeOrder is rate limited;
 * each of those is also its own setting.
 */
export function createGateway(options: GatewayOptions): Gateway {
  const { env } = options;
  const isProduction = env.NODE_ENV === "production";
  const logger =
    options.logger ??
    createLogger({ name: "gateway", level: env.LOG_LEVEL, isPretty: env.LOG_PRETTY });
  const keys = keysOf(env);
  const target = redisTargetOf(env);
  // Connection names say whose and what for (CLIENT LIST): `gateway-feed.<consumer>:blocking`.
  const nameOf = (purpose: string) => `${purpose}.${env.CONSUMER_NAME.replace(/\s/g, "_")}`;
  const redis = createRedis(target, "commands", nameOf("gateway"));
  redis.on("error", (error) => logger.warn({ err: error }, "redis connection error"));
  setMessagingServer(serverOf(target));
  const openBlockingConnection = (purpose: string) => () => {
    const connection = createRedis(target, "blocking", nameOf(purpose));
    connection.on("error", (error) => logger.warn({ err: error }, "redis connection error"));
    return connection;
  };

  const orders = createOrderStore(redis, keys);
  const projector = createProjector({
    redis,
    openBlockingConnection: openBlockingConnection("gateway-projector"),
    keys,
    logger,
    feedMaxLength: env.FEED_MAX_LENGTH,
    settings: consumerSettingsOf(env),
  });
  const hub = createEventHub({
    redis,
    openBlockingConnection: openBlockingConnection("gateway-feed"),
    keys,
    logger,
    batchSize: env.FEED_BATCH_SIZE,
  });
  const health = createPipelineHealth({
    redis,
    keys,
    logger,
    sampleIntervalMs: env.HEALTH_SAMPLE_INTERVAL_MS,
    windowMs: env.HEALTH_WINDOW_MS,
  });
  // Nobody else trims shipment.created (no service reads it); trimming follows every group.
  observePipeline(health, () => multiplexer.stats().members);
  const trimmer = createStreamTrimmer({
    redis,
    streams: topologyStreams(keys, EVENT_TYPES),
    intervalMs: env.TRIM_INTERVAL_MS,
    logger,
  });
  const authMode = authModeOf(env);
  const authentication = createAuthentication({
    mode: authMode,
    verify:
      authMode === "off"
        ? undefined
        : createTokenVerifier({
            secret: env.AUTH_JWT_SECRET,
            jwksUrl: env.AUTH_JWKS_URL,
            issuer: env.AUTH_ISSUER,
            audience: env.AUTH_AUDIENCE,
            clockSkewSeconds: env.AUTH_CLOCK_SKEW_SECONDS,
          }),
    logger: logger.child({ component: "auth" }),
    isTracingEndUser: env.TRACE_ENDUSER_ID,
    graphqlEndpoint: "/graphql",
  });
  const services: GatewayServices = {
    redis,
    keys,
    orders,
    placeOrder: createOrderPlacer({
      redis,
      keys,
      orders,
      idempotencyTtlSeconds: env.IDEMPOTENCY_TTL_SECONDS,
      priceMaxAgeMs: env.PRICE_MAX_AGE_MS,
    }),
    placeOrderLimiter: createRateLimiter({
      openConnection: () => createRedis(target, "unpipelined", nameOf("gateway-rate-limit")),
      keyPrefix: keys.rateLimit("placeOrder"),
      limitPerMinute: env.PLACE_ORDER_RATE_LIMIT ?? (isProduction ? 600 : 0),
    }),
    feed: createFeedSubscriptions({
      redis,
      keys,
      hub,
      orders,
      bufferSize: env.SUBSCRIBER_BUFFER_SIZE,
      pageSize: env.FEED_BATCH_SIZE,
    }),
    health,
    authMode,
    traceUrl: (traceId) =>
      env.TRACE_LINK_TEMPLATE ? env.TRACE_LINK_TEMPLATE.replaceAll("{traceId}", traceId) : null,
  };

  const multiplexer = createSubscriptionMultiplexer({
    hub,
    scopeOf: (context) => authScopeKey((context as GatewayContext).auth),
    expiresAtMsOf: (context) => expiresAtMsOf((context as GatewayContext).auth),
    expiredError: tokenExpiredError,
    maskError: maskGatewayError,
    isDev: !isProduction,
  });
  const subscriptions = useMultiplexedSubscriptions(multiplexer);

  let isStarted = false;
  const isGraphiQLOn = env.GRAPHIQL ?? !isProduction;
  // No CORS headers at all means browsers allow the same origin only.
  const corsOrigins = env.CORS_ORIGINS ?? (isProduction ? [] : ["*"]);
  const yoga = createYoga<ServerContext, GatewayContext>({
    schema,
    graphqlEndpoint: "/graphql",
    healthCheckEndpoint: "/healthz",
    landingPage: false,
    graphiql: isGraphiQLOn
      ? { title: "Conveyor GraphiQL", endpoint: "/graphql", subscriptionsProtocol: "SSE" }
      : false,
    // GraphiQL's files come from the installed package, served by this gateway (no CDN).
    renderGraphiQL: renderLocalGraphiQL,
    maskedErrors: { maskError: maskGatewayError, isDev: !isProduction },
    // Enforced by useRequestBodyLimit, which counts only bodies of undeclared length.
    maxRequestBodySize: false,
    cors:
      corsOrigins.length === 0
        ? false
        : {
            origin: corsOrigins,
            credentials: false,
            methods: ["GET", "POST", "PUT", "DELETE", "OPTIONS"],
            maxAge: 600,
          },
    logging: yogaLoggerFor(logger.child({ component: "yoga" })),
    context: async ({ req, request }) => ({
      services,
      auth: await authentication.identityOf(request),
      clientAddress: clientAddressOf(req, env.TRUST_PROXY),
    }),
    plugins: [
      ...useQueryLimits({
        maxDepth: env.MAX_QUERY_DEPTH,
        maxAliases: env.MAX_QUERY_ALIASES,
        maxCost: env.MAX_QUERY_COST,
        maxTokens: env.MAX_QUERY_TOKENS,
        maxDirectives: env.MAX_QUERY_DIRECTIVES,
        isBlockingFieldSuggestions: env.BLOCK_FIELD_SUGGESTIONS ?? isProduction,
      }),
      authentication.plugin,
      subscriptions.plugin,
      useGraphQLSse({
        endpoint: "/graphql/stream",
        logger,
        takePrepared: subscriptions.takePrepared,
      }),
      useRequestBodyLimit(env.MAX_REQUEST_BODY_BYTES),
      useInputErrorCodes(),
      ...((env.INTROSPECTION ?? !isProduction) ? [] : [useNoIntrospection()]),
      ...(isGraphiQLOn ? [useGraphiQLContentSecurityPolicy(), useLocalGraphiQLAssets()] : []),
      useReadiness({
        endpoint: "/readyz",
        check: async (fetchAPI) => {
          const isRedisUp = await redis.ping().then(
            () => true,
            () => false,
          );
          const details = {
            redis: isRedisUp,
            projector: projector.isRunning,
            feed: hub.isRunning,
            subscribers: multiplexer.stats().members,
          };
          const isReady = isStarted && isRedisUp && projector.isRunning && hub.isRunning;
          return new fetchAPI.Response(
            JSON.stringify({ status: isReady ? "ready" : "not ready", ...details }),
            { status: isReady ? 200 : 503, headers: { "content-type": "application/json" } },
          );
        },
      }),
    ],
  });
  const server = createServer(
    {
      requestTimeout: env.REQUEST_TIMEOUT_MS,
      headersTimeout: Math.min(env.HEADERS_TIMEOUT_MS, env.REQUEST_TIMEOUT_MS),
      keepAliveTimeout: env.KEEP_ALIVE_TIMEOUT_MS,
      // How often Node checks those timeouts (30 s by default: too coarse for short ones).
      connectionsCheckingInterval: Math.min(1_000, env.HEADERS_TIMEOUT_MS),
    },
    createHttpRouter({
      graphql: yoga,
      webDistDir: env.WEB_DIST_DIR,
      headers: securityHeadersFor({
        contentSecurityPolicy: env.CONTENT_SECURITY_POLICY ?? DASHBOARD_CONTENT_SECURITY_POLICY,
        hstsMaxAgeSeconds: env.HSTS_MAX_AGE_SECONDS,
      }),
      eventStreams: {
        maxBufferedBytes: env.SSE_MAX_BUFFERED_BYTES,
        stallTimeoutMs: env.SSE_STALL_TIMEOUT_MS,
      },
      logger,
    }),
  );

  let stopping: Promise<void> | undefined;
  const port = () => (server.address() as AddressInfo | null)?.port ?? 0;
  const origin = () => `http://127.0.0.1:${port()}`;

  return {
    keys,
    logger,
    subscriptionStats: multiplexer.stats,
    get port() {
      return port();
    },
    get url() {
      return `${origin()}/graphql`;
    },
    get streamUrl() {
      return `${origin()}/graphql/stream`;
    },
    async start() {
      await seedCatalog(redis, keys, { initialStock: env.CATALOG_INITIAL_STOCK });
      await projector.start();
      await hub.start();
      await health.start();
      trimmer.start();
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(env.PORT, env.HOST, () => {
          server.off("error", reject);
          resolve();
        });
      });
      isStarted = true;
      const base = `http://localhost:${port()}`;
      logger.info(
        {
          graphql: `${base}/graphql`,
          graphqlSse: `${base}/graphql/stream`,
          healthz: `${base}/healthz`,
          readyz: `${base}/readyz`,
        },
        "gateway ready",
      );
    },
    stop() {
      stopping ??= (async () => {
        isStarted = false;
        // Open subscriptions are cut here; their clients resume with `after` elsewhere.
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        if (server.listening) await closed;
        await hub.stop();
        await projector.stop();
        await trimmer.stop();
        await health.stop();
        await services.placeOrderLimiter.stop();
        await closeRedis(redis);
        logger.info("gateway stopped");
      })();
      return stopping;
    },
  };
}
