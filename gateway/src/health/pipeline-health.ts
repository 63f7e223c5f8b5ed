import { EVENT_TYPES, type EventType, type Keys, type PartitionKeys } from "@conveyor/contract";
import type { RedisClient } from "@conveyor/runtime";
import { groupLiveness, type Logger, replyToRecord } from "@conveyor/runtime";
import { totalOverPartitions } from "./partition-totals.ts";

/** One stream, over every partition, and how many entries it holds. */
export interface StreamHealth {
  /** The event type, or `dead-letter`, or `feed`. */
  name: string;
  /** Entries in the stream of every partition, added up. */
  length: number;
}

/**
 * One consumer group on one event type's stream, over every partition (see
 * {@link totalOverPartitions} for how partitions add up).
 */
export interface GroupHealth {
  stream: EventType;
  group: string;
  /**
   * Consumers registered in the group (including ones that stopped and were not removed): the
   * most on any one partition, as every replica joins each.
   */
  consumers: number;
  /** Entries delivered and not yet acknowledged. */
  pending: number;
  /** Entries not yet delivered to the group; null when Redis cannot tell (after deletions). */
  lag: number | null;
  /** Entries the group read per second over the recent window. */
  throughputPerSecond: number;
  /**
   * Consumers running now (holding a live lease), on the partition with the fewest: 0 means
   * nobody works some of this group's entries.
   */
  liveConsumers: number;
  /** Age of the oldest entry delivered and not yet acknowledged; null when nothing is pending. */
  oldestPendingAgeMs: number | null;
}

/** One service (consumer group) over all the streams it reads. */
export interface ServiceHealth {
  name: string;
  /** The most consumers it has on any one stream (every replica joins each of its streams). */
  consumers: number;
  pending: number;
  lag: number | null;
  throughputPerSecond: number;
}

/** The pipeline at a glance. */
export interface PipelineHealthReport {
  streams: StreamHealth[];
  groups: GroupHealth[];
  services: ServiceHealth[];
  deadLetterCount: number;
  sampledAt: string;
}

/** Options of {@link createPipelineHealth}. */
export interface PipelineHealthOptions {
  redis: RedisClient;
  keys: Keys;
  logger: Logger;
  /** How often group progress is sampled. */
  sampleIntervalMs: number;
  /** The window throughput is measured over. */
  windowMs: number;
}

/** Samples consumer-group progress and reports the pipeline's health on demand. */
export interface PipelineHealth {
  start(): Promise<void>;
  /** Stops sampling. Idempotent. */
  stop(): Promise<void>;
  report(): Promise<PipelineHealthReport>;
}

/** One group on one partition's stream of an event type. */
interface GroupInfo {
  partition: PartitionKeys;
  stream: EventType;
  group: string;
  consumers: number;
  pending: number;
  lag: number | null;
  entriesRead: number | null;
}

interface Sample {
  atMs: number;
  entriesRead: number;
}

function numberOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

/**
 * Reports stream lengths, each consumer group's consumers, pending entries and lag (from
 * `XINFO GROUPS`), and its throughput: the growth of the group's `entries-read` over a short
 * rolling window, sampled in this process. Nothing is stored in Redis for it. Every figure is
 * read per partition and reported over all of them.
 */
export function createPipelineHealth(options: PipelineHealthOptions): PipelineHealth {
  const { redis, keys, sampleIntervalMs, windowMs } = options;
  const samples = new Map<string, Sample[]>();
  let timer: NodeJS.Timeout | undefined;
  let sampling: Promise<unknown> | undefined;

  async function readGroups(): Promise<GroupInfo[]> {
    const perStream = await Promise.all(
      EVENT_TYPES.flatMap((stream) =>
        keys.partitions.map((partition) => readGroupsOf(partition, stream)),
      ),
    );
    return perStream.flat();
  }

  async function readGroupsOf(partition: PartitionKeys, stream: EventType): Promise<GroupInfo[]> {
    const groups = (await redis
      .xinfo("GROUPS", partition.stream(stream))
      .catch(() => [])) as unknown[];
    return groups.map((raw): GroupInfo => {
      const info = replyToRecord(raw);
      return {
        partition,
        stream,
        group: String(info.name),
        consumers: Number(info.consumers ?? 0),
        pending: Number(info.pending ?? 0),
        lag: numberOrNull(info.lag),
        // A group that never read reports no entries-read (nil) rather than 0.
        entriesRead:
          numberOrNull(info["entries-read"]) ?? (info["last-delivered-id"] === "0-0" ? 0 : null),
      };
    });
  }

  /** The key of a group's throughput samples: one series per partition. */
  function seriesId(group: GroupInfo): string {
    return `${group.partition.index}|${group.stream}|${group.group}`;
  }

  function record(groups: readonly GroupInfo[], atMs: number): void {
    for (const group of groups) {
      if (group.entriesRead === null) continue;
      const id = seriesId(group);
      const series = samples.get(id) ?? [];
      series.push({ atMs, entriesRead: group.entriesRead });
      while (series.length > 2 && (series[0] as Sample).atMs < atMs - windowMs) series.shift();
      samples.set(id, series);
    }
  }

  function throughputOf(group: GroupInfo): number {
    const series = samples.get(seriesId(group));
    const first = series?.[0];
    const last = series?.at(-1);
    if (!first || !last || last.atMs <= first.atMs) return 0;
    const perSecond = ((last.entriesRead - first.entriesRead) * 1000) / (last.atMs - first.atMs);
    return Math.max(0, Math.round(perSecond * 100) / 100);
  }

  async function sample(): Promise<void> {
    record(await readGroups(), Date.now());
  }

  return {
    async start() {
      if (timer) return;
      await sample();
      timer = setInterval(() => {
        sampling ??= sample()
          .catch((error: unknown) =>
            options.logger.warn({ err: error }, "sampling pipeline health failed"),
          )
          .finally(() => {
            sampling = undefined;
          });
      }, sampleIntervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await sampling;
    },
    async report() {
      const named: Array<readonly [name: string, keyOf: (partition: PartitionKeys) => string]> = [
        ...EVENT_TYPES.map(
          (type) => [type, (partition: PartitionKeys) => partition.stream(type)] as const,
        ),
        ["dead-letter", (partition) => partition.deadLetter],
        ["feed", (partition) => partition.feed],
      ];
      const [lengths, groupInfos] = await Promise.all([
        Promise.all(
          named.map(async ([, keyOf]) => {
            const perPartition = await Promise.all(
              keys.partitions.map((partition) => redis.xlen(keyOf(partition))),
            );
            return perPartition.reduce((sum, length) => sum + length, 0);
          }),
        ),
        readGroups(),
      ]);
      const now = Date.now();
      record(groupInfos, now);
      const liveness = await Promise.all(
        groupInfos.map((info) =>
          groupLiveness(redis, {
            stream: info.partition.stream(info.stream),
            group: info.group,
          }).catch(
            // A group deleted meanwhile (NOGROUP): nobody works it, nothing is pending.
            () => ({ liveConsumers: 0, oldestPendingAgeMs: null }),
          ),
        ),
      );
      const perPartition = groupInfos.map(
        (info, index): GroupHealth => ({
          stream: info.stream,
          group: info.group,
          consumers: info.consumers,
          pending: info.pending,
          lag: info.lag,
          throughputPerSecond: throughputOf(info),
          liveConsumers: liveness[index]?.liveConsumers ?? 0,
          oldestPendingAgeMs: liveness[index]?.oldestPendingAgeMs ?? null,
        }),
      );
      const groups = totalOverPartitions(perPartition);
      const services = new Map<string, ServiceHealth>();
      for (const group of groups) {
        const service = services.get(group.group) ?? {
          name: group.group,
          consumers: 0,
          pending: 0,
          lag: 0,
          throughputPerSecond: 0,
        };
        service.consumers = Math.max(service.consumers, group.consumers);
        service.pending += group.pending;
        service.lag = service.lag === null || group.lag === null ? null : service.lag + group.lag;
        service.throughputPerSecond =
          Math.round((service.throughputPerSecond + group.throughputPerSecond) * 100) / 100;
        services.set(group.group, service);
      }
      const streams = named.map(([name], index) => ({ name, length: lengths[index] ?? 0 }));
      return {
        streams,
        groups,
        services: [...services.values()].sort((a, b) => a.name.localeCompare(b.name)),
        deadLetterCount: streams.find((stream) => stream.name === "dead-letter")?.length ?? 0,
        sampledAt: new Date(now).toISOString(),
      };
    },
  };
}
