import type { EventType, Keys, ServiceName } from "@conveyor/contract";
import { getTelemetryHooks } from "@conveyor/telemetry";
import type { z } from "zod";
import type { Handler } from "./consumer.ts";
import { isRedriveForOtherGroup } from "./dead-letters.ts";
import { consumerSettingsOf, keysOf, redisTargetOf, type workerEnvShape } from "./env.ts";
import { createHealthServer } from "./health.ts";
import { createLogger, type Logger } from "./logger.ts";
import { createPartitionedConsumer } from "./partitioned-consumer.ts";
import { type Publication, publishWithAck } from "./publish.ts";
import type { RedisClient } from "./redis.ts";
import { closeRedis, createRedis, replyToRecord, serverOf } from "./redis.ts";
import { setMessagingServer } from "./tracing.ts";
import { createStreamTrimmer, topologyStreams } from "./trimmer.ts";

/** The parsed settings of a worker. */
export type WorkerEnv = z.infer<z.ZodObject<typeof workerEnvShape>>;

/** What a service's handler is built from. */
export interface WorkerContext {
  redis: RedisClient;
  keys: Keys;
  logger: Logger;
}

/** Options of {@link createWorker}. */
export interface WorkerOptions {
  name: ServiceName;
  env: WorkerEnv;
  /** The event types the service consumes. */
  streams: readonly EventType[];
  /** Builds the service's business logic: one event in, the events it produces out. */
  createHandler: (context: WorkerContext) => Handler<Publication>;
  /** Prepares state before consuming (e.g. seeding the catalog); must be idempotent. */
  setup?: (context: WorkerContext) => Promise<void>;
}

/** A running service: its consumer, trimmer and health server. */
export interface Worker {
  start(): Promise<void>;
  /** Drains in-flight work and closes everything. Idempotent. */
  stop(): Promise<void>;
  readonly logger: Logger;
  /** The health server's port (after start). */
  readonly healthPort: number;
}

/**
 * Wires a service: Redis connections (one Redis or a cluster), a consumer group over its input
 * streams in every partition whose handler's events are published, to the same partition,
 * atomically with each ack, a trimmer for those streams, and `/healthz` +
 * `/readyz`. Only the business logic differs between services.
 */
export function createWorker(options: WorkerOptions): Worker {
  const { env, name } = options;
  const logger = createLogger({ name, level: env.LOG_LEVEL, isPretty: env.LOG_PRETTY });
  const keys = keysOf(env);
  const target = redisTargetOf(env);
  const redis = createRedis(target, "commands", name);
  redis.on("error", (error) => logger.warn({ err: error }, "redis connection error"));
  setMessagingServer(serverOf(target));
  const context: WorkerContext = { redis, keys, logger };
  const streamKeys = keys.partitions.flatMap((partition) =>
    options.streams.map((type) => partition.stream(type)),
  );
  const handle = options.createHandler(context);

  const consumer = createPartitionedConsumer({
    redis,
    openBlockingConnection: () => createRedis(target, "blocking", name),
    keys,
    group: name,
    streams: options.streams,
    // A redriven dead letter of another group: this service processed the original already.
    handle: async (event, delivery) =>
      isRedriveForOtherGroup(delivery.fields, name) ? [] : handle(event, delivery),
    commitFor: (partition) => publishWithAck(redis, partition),
    logger,
    ...consumerSettingsOf(env),
  });
  const trimmer = createStreamTrimmer({
    redis,
    streams: topologyStreams(keys, options.streams),
    intervalMs: env.TRIM_INTERVAL_MS,
    logger,
  });
  const health = createHealthServer({
    port: env.HEALTH_PORT,
    host: env.HEALTH_HOST,
    async checkReadiness() {
      const missing: string[] = [];
      for (const stream of streamKeys) {
        const groups = (await redis.xinfo("GROUPS", stream).catch(() => [])) as unknown[];
        if (!groups.some((group) => replyToRecord(group).name === name)) missing.push(stream);
      }
      const isReady = consumer.isRunning && missing.length === 0;
      return {
        isReady,
        details: {
          consumer: env.CONSUMER_NAME,
          inFlight: consumer.inFlight,
          missingGroups: missing,
        },
      };
    },
  });

  let stopping: Promise<void> | undefined;
  return {
    logger,
    get healthPort() {
      return health.port;
    },
    async start() {
      await options.setup?.(context);
      await consumer.start();
      trimmer.start();
      await health.start();
      logger.info(
        {
          healthz: `http://127.0.0.1:${health.port}/healthz`,
          readyz: `http://127.0.0.1:${health.port}/readyz`,
        },
        `${name} ready`,
      );
    },
    stop() {
      stopping ??= (async () => {
        await consumer.stop();
        await trimmer.stop();
        await health.stop();
        await closeRedis(redis);
      })();
      return stopping;
    },
  };
}

/**
 * Runs a long-lived thing until SIGTERM or SIGINT, then stops it and exits 0 (1 if stopping
 * failed). A second signal exits at once.
 */
export function runUntilSignal(
  lifecycle: { start(): Promise<void>; stop(): Promise<void> },
  logger: Logger,
): void {
  let isStopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (isStopping) {
      logger.warn({ signal }, "second signal; exiting now");
      process.exit(1);
    }
    isStopping = true;
    logger.info({ signal }, "stopping: finishing in-flight work");
    lifecycle
      .stop()
      // Flushing telemetry comes last, so the spans of the final work are exported too.
      .then(() => getTelemetryHooks()?.shutdown())
      .then(
        () => {
          logger.info("stopped");
          process.exit(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, "stop failed");
          process.exit(1);
        },
      );
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
  lifecycle.start().catch((error: unknown) => {
    logger.fatal({ err: error }, "failed to start");
    process.exit(1);
  });
}
