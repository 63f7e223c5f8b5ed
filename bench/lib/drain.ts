import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import { processCpuSeconds, type RedisDelta, redisDelta, sampleRedis } from "./measure.ts";

/** A consumer process under measurement. */
export interface Consumer {
  readonly pid: number | undefined;
  stop(): Promise<unknown>;
}

/** Options of {@link measureDrain}. */
export interface DrainOptions {
  redis: Redis;
  /** The input stream the consumer group reads. */
  stream: string;
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
  redis: RedisDelta;
}

interface GroupInfo {
  lag: number | null;
  pending: number;
}

async function groupInfo(redis: Redis, stream: string, group: string): Promise<GroupInfo> {
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

/** Adds `count` entries to `stream` in pipelined chunks; resolves the XADD rate. */
export async function prefill(
  redis: Redis,
  stream: string,
  count: number,
  fieldsOf: (index: number) => string[],
): Promise<number> {
  const chunk = 500;
  const started = performance.now();
  for (let from = 0; from < count; from += chunk) {
    const pipeline = redis.pipeline();
    for (let i = from; i < Math.min(count, from + chunk); i += 1) {
      pipeline.xadd(stream, "*", ...fieldsOf(i));
    }
    await pipeline.exec();
  }
  return count / ((performance.now() - started) / 1000);
}

/**
 * Measures how fast a consumer group drains a backlog. The stream is pre-filled first and the
 * group created at its end, so the consumer starts idle; once it is ready, `XGROUP SETID … 0`
 * hands it the whole backlog at once and the clock starts. The clock stops when `XINFO GROUPS`
 * shows lag 0 and nothing pending: every entry read, handled and acknowledged.
 */
export async function measureDrain(options: DrainOptions): Promise<DrainResult> {
  const { redis, stream, group, count } = options;
  const fillPerSecond = await prefill(redis, stream, count, options.fieldsOf);
  await redis.xgroup("CREATE", stream, group, "$", "MKSTREAM");
  const consumer = await options.startConsumer();
  try {
    const cpuBefore = consumer.pid ? await processCpuSeconds(consumer.pid) : 0;
    const redisBefore = await sampleRedis(redis);
    const started = performance.now();
    await redis.xgroup("SETID", stream, group, "0", "ENTRIESREAD", 0);
    const deadline = started + (options.timeoutMs ?? 120_000);
    for (;;) {
      const info = await groupInfo(redis, stream, group);
      if (info.lag === 0 && info.pending === 0) break;
      if (performance.now() > deadline) {
        throw new Error(`${group} did not drain ${stream} in time (${JSON.stringify(info)})`);
      }
      await sleep(5);
    }
    const seconds = (performance.now() - started) / 1000;
    const redisAfter = await sampleRedis(redis);
    const cpuAfter = consumer.pid ? await processCpuSeconds(consumer.pid) : 0;
    return {
      count,
      fillPerSecond,
      seconds,
      perSecond: count / seconds,
      consumerCpuPercent: ((cpuAfter - cpuBefore) / seconds) * 100,
      redis: redisDelta(redisBefore, redisAfter),
    };
  } finally {
    await consumer.stop();
  }
}
