import { setTimeout as sleep } from "node:timers/promises";
import type { Cluster, Redis } from "ioredis";
import {
  processCpuSeconds,
  type RedisDelta,
  redisDelta,
  sampleRedis,
  sumRedisDeltas,
} from "./measure.ts";

/** A consumer process under measurement. */
export interface Consumer {
  readonly pid: number | undefined;
  stop(): Promise<unknown>;
}

/** Options of {@link measureDrain}. */
export interface DrainOptions {
  /** The bench's client: a single Redis, or a cluster client (then `servers` is required). */
  redis: Redis | Cluster;
  /**
   * The servers whose counters are read (`INFO`): a cluster's masters, each a direct connection.
   * Default: `redis` alone. When given, the result has each server's figures in `shards`.
   */
  servers?: readonly Redis[];
  /** The input stream the consumer group reads, or its streams (one per partition). */
  stream: string | readonly string[];
  /** The stream entry number `index` goes to; required with several streams. */
  streamOf?: (index: number) => string;
  group: string;
  /** How many entries to pre-fill. */
  count: number;
  /** The flat fields of entry number `index`. */
  fieldsOf: (index: number) => string[];
  /** Starts the consumer (its group already exists, parked at the end) and waits until ready. */
  startConsumer: () => Promise<Consumer>;
  /** Gives up after this long. Default 120 s. */
  timeoutMs?: number;
}

/** What one drain measured. */
export interface DrainResult {
  count: number;
  /** XADD rate of the pre-fill (pipelined, one client, 500 per round trip). */
  fillPerSecond: number;
  seconds: number;
  /** Entries acknowledged per second, from the release of the backlog to lag 0 and pending 0. */
  perSecond: number;
  /** Share of one core the consumer process used while draining, in percent. */
  consumerCpuPercent: number;
  /** Every server together (summed over `servers`). */
  redis: RedisDelta;
  /** Each server's own figures, in the order of `servers` (only when `servers` was given). */
  shards?: RedisDelta[];
}

interface GroupInfo {
  lag: number | null;
  pending: number;
}

async function groupInfo(
  redis: Redis | Cluster,
  stream: string,
  group: string,
): Promise<GroupInfo> {
  const groups = (await redis.xinfo("GROUPS", stream)) as unknown[][];
  for (const raw of groups) {
    const info: Record<string, unknown> = {};
    for (let i = 0; i + 1 < raw.length; i += 2) info[String(raw[i])] = raw[i + 1];
    if (info.name === group) {
      return { lag: info.lag === null ? null : Number(info.lag), pending: Number(info.pending) };
    }
  }
  throw new Error(`no group ${group} on ${stream}`);
}

/**
 * Adds `count` entries in pipelined chunks of 500, to `stream` or to the stream `streamOf`
 * picks for each; resolves the XADD rate. A chunk is one pipeline per stream, so that a cluster
 * client sends each to the one node serving that stream's slot.
 */
export async function prefill(
  redis: Redis | Cluster,
  stream: string | ((index: number) => string),
  count: number,
  fieldsOf: (index: number) => string[],
): Promise<number> {
  const chunk = 500;
  const streamOf = typeof stream === "string" ? () => stream : stream;
  const started = performance.now();
  for (let from = 0; from < count; from += chunk) {
    const pipelines = new Map<string, ReturnType<Redis["pipeline"]>>();
    for (let i = from; i < Math.min(count, from + chunk); i += 1) {
      const key = streamOf(i);
      let pipeline = pipelines.get(key);
      if (!pipeline) {
        pipeline = redis.pipeline();
        pipelines.set(key, pipeline);
      }
      pipeline.xadd(key, "*", ...fieldsOf(i));
    }
    await Promise.all([...pipelines.values()].map((pipeline) => pipeline.exec()));
  }
  return count / ((performance.now() - started) / 1000);
}

/**
 * Measures how fast a consumer group drains a backlog. The streams are pre-filled first and the
 * group created at their end, so the consumer starts idle; once it is ready, `XGROUP SETID … 0`
 * hands it the whole backlog at once and the clock starts. The clock stops when `XINFO GROUPS`
 * shows lag 0 and nothing pending on every stream: every entry read, handled and acknowledged.
 */
export async function measureDrain(options: DrainOptions): Promise<DrainResult> {
  const { redis, group, count } = options;
  const streams = typeof options.stream === "string" ? [options.stream] : [...options.stream];
  const [firstStream] = streams;
  if (!firstStream) throw new Error("measureDrain needs a stream");
  if (streams.length > 1 && !options.streamOf) throw new Error("several streams need streamOf");
  const servers = options.servers ?? [asSingle(redis)];
  const fillPerSecond = await prefill(
    redis,
    options.streamOf ?? firstStream,
    count,
    options.fieldsOf,
  );
  for (const stream of streams) await redis.xgroup("CREATE", stream, group, "$", "MKSTREAM");
  const consumer = await options.startConsumer();
  try {
    const cpuBefore = consumer.pid ? await processCpuSeconds(consumer.pid) : 0;
    const redisBefore = await Promise.all(servers.map(sampleRedis));
    const started = performance.now();
    await Promise.all(
      streams.map((stream) => redis.xgroup("SETID", stream, group, "0", "ENTRIESREAD", 0)),
    );
    const deadline = started + (options.timeoutMs ?? 120_000);
    // No entry is added once the clock runs, so a drained stream stays drained: one XINFO per
    // poll (as with one stream), moving on to the next stream as soon as one is done.
    const remaining = [...streams];
    while (remaining.length > 0) {
      const stream = remaining[0] as string;
      const info = await groupInfo(redis, stream, group);
      if (info.lag === 0 && info.pending === 0) {
        remaining.shift();
        continue;
      }
      if (performance.now() > deadline) {
        throw new Error(`${group} did not drain ${stream} in time (${JSON.stringify(info)})`);
      }
      await sleep(5);
    }
    const seconds = (performance.now() - started) / 1000;
    const redisAfter = await Promise.all(servers.map(sampleRedis));
    const cpuAfter = consumer.pid ? await processCpuSeconds(consumer.pid) : 0;
    const shards = servers.map((_, i) =>
      redisDelta(
        redisBefore[i] as (typeof redisBefore)[number],
        redisAfter[i] as (typeof redisAfter)[number],
      ),
    );
    return {
      count,
      fillPerSecond,
      seconds,
      perSecond: count / seconds,
      consumerCpuPercent: ((cpuAfter - cpuBefore) / seconds) * 100,
      redis: options.servers ? sumRedisDeltas(shards) : (shards[0] as RedisDelta),
      ...(options.servers ? { shards } : {}),
    };
  } finally {
    await consumer.stop();
  }
}

function asSingle(redis: Redis | Cluster): Redis {
  if ("isCluster" in redis && redis.isCluster) {
    throw new Error("measureDrain on a cluster needs its masters as `servers`");
  }
  return redis as Redis;
}
