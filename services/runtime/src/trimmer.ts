import { type EventType, type Keys, STREAM_CONSUMER_GROUPS } from "@conveyor/contract";
import type { Logger } from "pino";
import type { RedisClient } from "./redis.ts";
import { replyToRecord } from "./redis.ts";

/** Options of {@link createStreamTrimmer}. */
export interface StreamTrimmerOptions {
  redis: RedisClient;
  /** Stream keys to keep bounded, each with the groups that must exist before it is trimmed. */
  streams: readonly TrimmedStream[];
  /** How often to trim. Default 10,000 ms. */
  intervalMs?: number;
  logger: Logger;
  /**
   * Tells whether Redis can trim only acknowledged entries (`XTRIM … ACKED`, Redis 8.2+).
   * Default {@link supportsAckedTrimming}; asked once, at the first trim.
   */
  detectAckedTrimming?: (redis: RedisClient) => Promise<boolean>;
}

/** A stream to trim, and the consumer groups that read it (trimming waits until all exist). */
export interface TrimmedStream {
  key: string;
  requiredGroups: readonly string[];
}

/**
 * The streams of some event types in every partition, with their groups from the pipeline's
 * topology. Each stream is trimmed by its own groups' progress, so partitions trim apart.
 */
export function topologyStreams(keys: Keys, types: readonly EventType[]): TrimmedStream[] {
  return keys.partitions.flatMap((partition) =>
    types.map((type) => ({
      key: partition.stream(type),
      requiredGroups: STREAM_CONSUMER_GROUPS[type],
    })),
  );
}

/** Periodically trims streams by their consumer groups' progress. */
export interface StreamTrimmer {
  start(): void;
  stop(): Promise<void>;
  /** Trims every stream once now; resolves the number of entries removed. */
  trimNow(): Promise<number>;
  /** How it trims: `minid`, or `minid-acked` on Redis 8.2+ (undefined before the first trim). */
  readonly mode: TrimMode | undefined;
}

/**
 * How the trimmer removes entries below the safe point: `XTRIM MINID`, or on Redis 8.2+
 * `XTRIM MINID … ACKED`, where Redis itself also refuses to remove an entry that some existing
 * group has not acknowledged, atomically with the trim.
 */
export type TrimMode = "minid" | "minid-acked";

/**
 * Whether this Redis can trim only acknowledged entries (`XADD`/`XTRIM … ACKED`, `XACKDEL`):
 * Redis 8.2 or later. Detected by asking for `XACKDEL`, which arrived in the same release, so
 * forks and managed services that lack the feature answer correctly whatever their version says.
 */
export async function supportsAckedTrimming(redis: RedisClient): Promise<boolean> {
  const [info] = (await redis.command("INFO", "XACKDEL")) as unknown[];
  return info !== null && info !== undefined;
}

/** The `XTRIM` arguments that remove what lies below `floor` in a mode (approximately). */
export function trimArguments(stream: string, floor: string, mode: TrimMode): string[] {
  const args = [stream, "MINID", "~", floor];
  return mode === "minid-acked" ? [...args, "ACKED"] : args;
}

function compareIds(a: string, b: string): number {
  const [aMs = 0n, aSeq = 0n] = a.split("-").map(BigInt);
  const [bMs = 0n, bSeq = 0n] = b.split("-").map(BigInt);
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  return aSeq === bSeq ? 0 : aSeq < bSeq ? -1 : 1;
}

/**
 * The id below which no group still needs any entry of `stream`, or `undefined` if nothing may
 * be trimmed. For each group, everything before its oldest pending entry (or, with nothing
 * pending, before its last delivered entry) has been acknowledged. A stream without groups, or
 * missing one of `requiredGroups`, is left whole: a group created later starts from its beginning.
 */
export async function safeTrimPoint(
  redis: RedisClient,
  stream: string,
  requiredGroups: readonly string[] = [],
): Promise<string | undefined> {
  const groups = (await redis.xinfo("GROUPS", stream)) as unknown[];
  if (groups.length === 0) return undefined;
  const names = new Set(groups.map((raw) => String(replyToRecord(raw).name)));
  if (requiredGroups.some((name) => !names.has(name))) return undefined;
  let floor: string | undefined;
  for (const raw of groups) {
    const info = replyToRecord(raw);
    const name = String(info.name);
    let groupFloor = String(info["last-delivered-id"]);
    if (Number(info.pending) > 0) {
      const [count, oldestPending] = (await redis.xpending(stream, name)) as [
        number,
        string | null,
      ];
      if (Number(count) > 0 && oldestPending) groupFloor = oldestPending;
    }
    if (floor === undefined || compareIds(groupFloor, floor) < 0) floor = groupFloor;
  }
  return floor === "0-0" ? undefined : floor;
}

/**
 * Keeps streams bounded without losing work: it trims with `XTRIM MINID` up to the point every
 * consumer group has acknowledged, never with a blind MAXLEN that would drop entries a stopped
 * service still needs. On Redis 8.2+ it adds `ACKED`, so that Redis re-checks the groups'
 * acknowledgements in the same step as the trim; before 8.2 the safe point alone decides.
 */
export function createStreamTrimmer(options: StreamTrimmerOptions): StreamTrimmer {
  const { redis, streams, logger, intervalMs = 10_000 } = options;
  const detectAckedTrimming = options.detectAckedTrimming ?? supportsAckedTrimming;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let mode: TrimMode | undefined;

  async function detectMode(): Promise<TrimMode> {
    mode ??= (await detectAckedTrimming(redis).catch(() => false)) ? "minid-acked" : "minid";
    logger.debug({ mode }, "stream trimming mode");
    return mode;
  }

  async function trim(stream: string, floor: string): Promise<number> {
    const current = mode ?? (await detectMode());
    try {
      return Number(await redis.call("XTRIM", ...trimArguments(stream, floor, current)));
    } catch (error) {
      // A Redis that answered the detection but rejects ACKED (a proxy, a downgrade): the
      // floor alone is safe, so fall back to it for good rather than stop trimming.
      if (current !== "minid-acked" || !(error instanceof Error && /syntax/i.test(error.message))) {
        throw error;
      }
      logger.warn({ err: error }, "XTRIM ACKED rejected; trimming with MINID only");
      mode = "minid";
      return Number(await redis.call("XTRIM", ...trimArguments(stream, floor, "minid")));
    }
  }

  async function trimNow(): Promise<number> {
    let removed = 0;
    for (const stream of streams) {
      const floor = await safeTrimPoint(redis, stream.key, stream.requiredGroups).catch(
        () => undefined,
      );
      if (floor) removed += await trim(stream.key, floor);
    }
    return removed;
  }

  return {
    trimNow,
    get mode() {
      return mode;
    },
    start() {
      timer = setInterval(() => {
        if (running) return;
        running = trimNow()
          .then((removed) => {
            if (removed > 0) logger.debug({ removed }, "trimmed streams");
            return removed;
          })
          .catch((error: unknown) => {
            logger.warn({ err: error }, "trimming failed");
            return 0;
          })
          .finally(() => {
            running = undefined;
          });
      }, intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await running;
    },
  };
}
