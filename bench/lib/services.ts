import { join } from "node:path";
import { createKeys } from "@conveyor/contract";
import type { Cluster, Redis } from "ioredis";
import { spawnService } from "../../services/testkit/src/process.ts";
import { launch, ROOT, stopGracefully } from "./apps.ts";
import { type DrainResult, measureDrain } from "./drain.ts";
import { INPUT_OF, inputFields, OUTPUT_OF, type ServiceName } from "./fixtures.ts";

/** One consumer setting: entries in flight at once and entries per read. */
export interface ConsumerSetting {
  concurrency: number;
  batchSize: number;
}

/** The raw Redis ceiling at one batch size. */
export interface CeilingResult extends DrainResult {
  batchSize: number;
  mode: "forward" | "ack";
}

/** One service's drain at one setting. */
export interface ServiceDrainResult extends DrainResult {
  service: ServiceName;
  concurrency: number;
  batchSize: number;
  paymentLatencyMs: number;
  /** Output events published, which must equal the input count. */
  outputs: number;
  deadLetters: number;
}

/** Shared context of the stream sections: the bench's Redis and where it lives. */
export interface StreamBenchContext {
  redis: Redis;
  redisUrl: string;
  profileDir?: string | undefined;
}

/**
 * Where a service drain runs when not on the bench's single Redis: a Redis Cluster (its seed
 * nodes, a cluster client and a direct connection to each master, whose counters are read), and
 * the partitions of the key layout.
 */
export interface DrainTarget {
  cluster?: { nodes: string; client: Cluster; masters: readonly Redis[] } | undefined;
  /** `STREAM_PARTITIONS`; the pre-fill spreads the entries over them by order id. Default 1. */
  partitions?: number | undefined;
}

let runs = 0;
function freshPrefix(label: string): string {
  runs += 1;
  return `bench:${label}:${runs}:`;
}

/**
 * The raw Redis ceiling: the same backlog of `order.created` entries, drained by a process doing
 * nothing but XREADGROUP, then one pipeline of XADD (one output per input) + XACK per batch.
 */
export async function measureCeiling(
  context: StreamBenchContext,
  count: number,
  batchSize: number,
  mode: "forward" | "ack" = "forward",
): Promise<CeilingResult> {
  await context.redis.flushall();
  const keys = createKeys(freshPrefix("ceiling")).partition(0);
  const stream = keys.stream("order.created");
  const result = await measureDrain({
    redis: context.redis,
    stream,
    group: "ceiling",
    count,
    fieldsOf: (index) => inputFields("inventory", `ceiling-${index}`, index),
    startConsumer: async () => {
      const child = await spawnService({
        name: "ceiling",
        entry: join(ROOT, "bench", "lib", "ceiling-worker.ts"),
        env: {
          REDIS_URL: context.redisUrl,
          STREAM: stream,
          GROUP: "ceiling",
          OUTPUT_STREAM: keys.stream("inventory.reserved"),
          BATCH_SIZE: String(batchSize),
          MODE: mode,
        },
      });
      await child.waitUntilReady();
      return { pid: child.pid, stop: () => child.stop("SIGTERM") };
    },
  });
  return { ...result, batchSize, mode };
}

/**
 * One service alone: its input stream pre-filled with `count` valid entries, then drained by one
 * process of that service at the given concurrency and batch size. On a `target` with several
 * partitions, each entry goes to its order's partition, and the service reads them all.
 */
export async function measureServiceDrain(
  context: StreamBenchContext,
  service: ServiceName,
  count: number,
  setting: ConsumerSetting,
  paymentLatencyMs = 0,
  target: DrainTarget = {},
): Promise<ServiceDrainResult> {
  const cluster = target.cluster;
  const redis = cluster?.client ?? context.redis;
  const servers = cluster?.masters ?? [context.redis];
  await Promise.all(servers.map((server) => server.flushall()));
  const prefix = freshPrefix(service);
  const partitions = target.partitions ?? 1;
  const keys = createKeys(prefix, partitions);
  const label = `${service}-c${setting.concurrency}-b${setting.batchSize}${cluster ? `-cluster-p${partitions}` : ""}`;
  const orderIdOf = (index: number) => `${label}-${index}`;
  const result = await measureDrain({
    redis,
    ...(cluster ? { servers } : {}),
    stream: keys.partitions.map((partition) => partition.stream(INPUT_OF[service])),
    streamOf: (index) => keys.forOrder(orderIdOf(index)).stream(INPUT_OF[service]),
    group: service,
    count,
    fieldsOf: (index) => inputFields(service, orderIdOf(index), index),
    timeoutMs: 300_000,
    startConsumer: async () => {
      const child = await launch(
        service,
        {
          redisUrl: cluster ? `redis://${cluster.nodes.split(",")[0]}` : context.redisUrl,
          clusterNodes: cluster?.nodes,
          partitions,
          prefix,
          profileDir: context.profileDir,
        },
        {
          CONCURRENCY: String(setting.concurrency),
          BATCH_SIZE: String(setting.batchSize),
          PAYMENT_LATENCY_MS: String(paymentLatencyMs),
          BLOCK_MS: "500",
        },
        label,
      );
      return { pid: child.pid, stop: () => stopGracefully(child) };
    },
  });
  let outputs = 0;
  let deadLetters = 0;
  for (const partition of keys.partitions) {
    outputs += await redis.xlen(partition.stream(OUTPUT_OF[service]));
    deadLetters += await redis.xlen(partition.deadLetter);
  }
  return {
    ...result,
    service,
    ...setting,
    paymentLatencyMs,
    outputs,
    deadLetters,
  };
}
