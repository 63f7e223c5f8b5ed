import { hostname } from "node:os";
import { createKeys, type Keys } from "@conveyor/contract";
import { z } from "zod";
import type { ConsumerSettings } from "./consumer.ts";
import { parseClusterNodes, type RedisTarget } from "./redis.ts";

/** Reads a boolean the way people write it in env files. */
export const booleanFromEnv = z
  .enum(["true", "false", "1", "0", "yes", "no", ""])
  .transform((value) => value === "true" || value === "1" || value === "yes");

/** Settings every deployable shares: where Redis is, the key prefix, logging. */
export const commonEnvShape = {
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).default("redis://127.0.0.1:6379"),
  /**
   * Seed nodes of a Redis Cluster (`host:port,host:port`): every connection is then a cluster
   * client, with REDIS_URL giving only the password and TLS. Empty: the single Redis at REDIS_URL.
   */
  REDIS_CLUSTER_NODES: z
    .string()
    .default("")
    .transform((value, context) => {
      try {
        return parseClusterNodes(value);
      } catch (error) {
        context.addIssue({ code: "custom", message: (error as Error).message });
        return z.NEVER;
      }
    }),
  /** How many partitions the order pipeline is split into (see `createKeys`); 1 by default. */
  STREAM_PARTITIONS: z.coerce.number().int().min(1).max(1024).default(1),
  STREAM_PREFIX: z
    .string()
    .regex(/^[^{}\s]*$/, "no braces or spaces")
    .default("conveyor:"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  LOG_PRETTY: booleanFromEnv.default(false),
};

/** The settings that say where Redis is and how its keys are laid out. */
export type RedisEnv = {
  REDIS_URL: string;
  REDIS_CLUSTER_NODES: RedisTarget["clusterNodes"];
  STREAM_PREFIX: string;
  STREAM_PARTITIONS: number;
};

/** Where Redis is, from the parsed settings. */
export function redisTargetOf(env: RedisEnv): RedisTarget {
  return { url: env.REDIS_URL, clusterNodes: env.REDIS_CLUSTER_NODES };
}

/** The key layout, from the parsed settings. */
export function keysOf(env: RedisEnv): Keys {
  return createKeys(env.STREAM_PREFIX, env.STREAM_PARTITIONS);
}

/** Settings of a consumer group's reader (a worker's, or the gateway's read model). */
export const consumerEnvShape = {
  /** Unique per replica, so that a dead replica's pending entries can be claimed. */
  CONSUMER_NAME: z.string().min(1).default(`${hostname()}-${process.pid}`),
  CONCURRENCY: z.coerce.number().int().positive().default(64),
  BATCH_SIZE: z.coerce.number().int().positive().default(50),
  BLOCK_MS: z.coerce.number().int().positive().default(2_000),
  CLAIM_IDLE_MS: z.coerce.number().int().positive().default(30_000),
  CLAIM_INTERVAL_MS: z.coerce.number().int().positive().optional(),
  MAX_DELIVERIES: z.coerce.number().int().positive().default(5),
  STOP_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** How often the streams read are trimmed by their consumer groups' progress. */
  TRIM_INTERVAL_MS: z.coerce.number().int().positive().default(10_000),
};

/** Settings of a stream worker (a service that consumes events), each with its default. */
export const workerEnvShape = {
  ...commonEnvShape,
  ...consumerEnvShape,
  /** `/healthz`, `/readyz` and `/metrics`; 0 picks a free port. */
  HEALTH_PORT: z.coerce.number().int().min(0).max(65_535),
  HEALTH_HOST: z.string().default("0.0.0.0"),
};

/**
 * Parses `process.env` with a schema once at start. On bad settings it prints every problem
 * and exits, rather than letting a half-configured process run.
 */
export function parseEnv<TShape extends z.ZodRawShape>(
  shape: TShape,
  source: NodeJS.ProcessEnv = process.env,
): z.infer<z.ZodObject<TShape>> {
  const parsed = z.object(shape).safeParse(source);
  if (!parsed.success) {
    console.error(`Invalid configuration:\n${z.prettifyError(parsed.error)}`);
    process.exit(1);
  }
  return parsed.data;
}

/** The parsed settings of a consumer group's reader. */
export type ConsumerEnv = z.infer<z.ZodObject<typeof consumerEnvShape>>;

/** Turns a deployable's parsed settings into its consumer's options. */
export function consumerSettingsOf(env: ConsumerEnv): ConsumerSettings {
  return {
    consumer: env.CONSUMER_NAME,
    concurrency: env.CONCURRENCY,
    batchSize: env.BATCH_SIZE,
    blockMs: env.BLOCK_MS,
    claimIdleMs: env.CLAIM_IDLE_MS,
    ...(env.CLAIM_INTERVAL_MS ? { claimIntervalMs: env.CLAIM_INTERVAL_MS } : {}),
    maxDeliveries: env.MAX_DELIVERIES,
    stopTimeoutMs: env.STOP_TIMEOUT_MS,
  };
}
