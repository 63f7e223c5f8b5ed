import { setTimeout as sleep } from "node:timers/promises";
import {
  decodeEvent,
  type EventEnvelope,
  type EventType,
  fieldsToRecord,
  NonRetryableError,
  type PartitionKeys,
} from "@conveyor/contract";
import { type Span, SpanStatusCode } from "@opentelemetry/api";
import { Cluster } from "ioredis";
import type { Logger } from "pino";
import { removeDeadConsumers, renewConsumerLease } from "./dead-consumers.ts";
import { createLimiter } from "./limiter.ts";
import { type Outcome, runtimeMetrics } from "./metrics.ts";
import {
  isBusyGroupError,
  isNoGroupError,
  isUnblockedByFailover,
  type RedisClient,
} from "./redis.ts";
import { ackAndDeadLetter } from "./scripts.ts";
import { recordError, withConsumerSpan } from "./tracing.ts";

/** One entry as delivered to this consumer. */
export interface Delivery {
  /** The stream key the entry was read from. */
  readonly stream: string;
  /** The entry id in that stream. */
  readonly entryId: string;
  /** The consumer group it was delivered to. */
  readonly group: string;
  /** How many times it has been delivered, this time included (1 on first delivery). */
  readonly deliveryCount: number;
  /** Where to record the handler's last error, for the dead-letter reason. */
  readonly failureKey: string;
  /** The raw fields, as read. */
  readonly fields: Readonly<Record<string, string>>;
}

/** Does an entry's work and returns what to commit; throwing leaves the entry pending. */
export type Handler<TOutcome> = (event: EventEnvelope, delivery: Delivery) => Promise<TOutcome>;

/**
 * Makes the handler's outcome durable and acknowledges the entry, atomically
 * (see {@link ackAndPublish}). It must not acknowledge anything if it throws.
 */
export type Commit<TOutcome> = (delivery: Delivery, outcome: TOutcome) => Promise<void>;

/** Options of {@link createStreamConsumer}. */
export interface StreamConsumerOptions<TOutcome> {
  /** Connection for commands and commits (shared with the rest of the process). */
  redis: RedisClient;
  /** Opens the connection that blocking reads use; it is owned and closed by the consumer. */
  openBlockingConnection: () => RedisClient;
  /** The partition it reads: its streams, dead-letter stream and failure keys. */
  keys: PartitionKeys;
  /** The consumer group: one per service; replicas of a service share it. */
  group: string;
  /** This consumer's name: unique per process, so a dead one's entries can be claimed. */
  consumer: string;
  /** The event types (streams) to read. */
  streams: readonly EventType[];
  handle: Handler<TOutcome>;
  commit: Commit<TOutcome>;
  logger: Logger;
  /** Most entries being handled at once; slow handlers overlap instead of queueing. Default 64. */
  concurrency?: number;
  /** Most entries one read returns. Default 50. */
  batchSize?: number;
  /** How long one blocking read waits for new entries. Default 2,000 ms. */
  blockMs?: number;
  /**
   * How long an entry stays pending on a consumer before another may claim it. Must exceed the
   * slowest handler, or live work is stolen and done twice. Default 30,000 ms.
   */
  claimIdleMs?: number;
  /**
   * How often to look for entries to claim, renew this consumer's lease and remove dead
   * consumers (no lease, nothing pending) from the group. Default: half of `claimIdleMs`.
   */
  claimIntervalMs?: number;
  /** Deliveries after which an entry goes to the dead-letter stream. Default 5. */
  maxDeliveries?: number;
  /** How long `stop` waits for in-flight entries before giving up on them. Default 10,000 ms. */
  stopTimeoutMs?: number;
  /** How long a handler's last error is kept for the dead-letter reason. Default 1 day. */
  failureTtlSeconds?: number;
}

/** The tunable part of a consumer's options, as deployables read them from their settings. */
export type ConsumerSettings = Pick<
  StreamConsumerOptions<unknown>,
  | "consumer"
  | "concurrency"
  | "batchSize"
  | "blockMs"
  | "claimIdleMs"
  | "claimIntervalMs"
  | "maxDeliveries"
  | "stopTimeoutMs"
>;

/** A running consumer of one group over some streams. */
export interface StreamConsumer {
  start(): Promise<void>;
  /** Stops reading, finishes in-flight entries, closes its connection. Idempotent. */
  stop(): Promise<void>;
  /** Whether the consumer is reading (its groups exist and it has not been stopped). */
  readonly isRunning: boolean;
  /** Entries being handled now. */
  readonly inFlight: number;
  /** Creates the consumer groups if missing (idempotent). */
  ensureGroups(): Promise<void>;
}

type RawEntry = [id: string, fields: string[] | null];
type ReadReply = Array<[stream: string, entries: RawEntry[]]> | null;

/**
 * Reads a consumer group over several streams and hands each entry to `handle`, with
 * at-least-once delivery and effectively-once effects: an entry is acknowledged only by
 * `commit` (after its effects are durable), entries of dead consumers are claimed after
 * `claimIdleMs`, and an entry that is malformed, marked non-retryable, or delivered more than
 * `maxDeliveries` times goes to the dead-letter stream with the reason.
 */
export function createStreamConsumer<TOutcome>(
  options: StreamConsumerOptions<TOutcome>,
): StreamConsumer {
  const {
    redis,
    keys,
    group,
    consumer,
    handle,
    commit,
    logger,
    concurrency = 64,
    batchSize = 50,
    blockMs = 2_000,
    claimIdleMs = 30_000,
    maxDeliveries = 5,
    stopTimeoutMs = 10_000,
    failureTtlSeconds = 86_400,
  } = options;
  const claimIntervalMs = options.claimIntervalMs ?? Math.max(100, Math.floor(claimIdleMs / 2));
  const streamKeys = options.streams.map((type) => keys.stream(type));
  const limiter = createLimiter(concurrency);
  const inFlight = new Map<string, Promise<void>>();
  const log = logger.child({ group, consumer });

  let blocking: RedisClient | undefined;
  let blockingClientId: number | undefined;
  let isRunning = false;
  let isStopping = false;
  let readLoop: Promise<void> | undefined;
  let claimTimer: NodeJS.Timeout | undefined;
  let claiming: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;

  async function ensureGroups(): Promise<void> {
    for (const stream of streamKeys) {
      try {
        await redis.xgroup("CREATE", stream, group, "0", "MKSTREAM");
        log.info({ stream }, "created consumer group");
      } catch (error) {
        if (!isBusyGroupError(error)) throw error;
      }
    }
  }

  function dispatch(stream: string, entryId: string, flat: string[], deliveryCount: number) {
    const id = `${stream}|${entryId}`;
    const work = processEntry({
      stream,
      entryId,
      group,
      deliveryCount,
      failureKey: keys.failure(stream, entryId),
      fields: fieldsToRecord(flat),
    }).finally(() => {
      inFlight.delete(id);
      limiter.release();
    });
    inFlight.set(id, work);
  }

  async function processEntry(delivery: Delivery): Promise<void> {
    const type = delivery.fields.type ?? "unknown";
    const startedAt = performance.now();
    runtimeMetrics.inFlight.add(1, { group });
    const outcome = await withConsumerSpan(
      {
        type,
        group,
        consumer,
        entryId: delivery.entryId,
        deliveryCount: delivery.deliveryCount,
        fields: delivery.fields,
      },
      (span) => handleEntry(delivery, span),
    ).catch((): Outcome => "retry");
    runtimeMetrics.inFlight.add(-1, { group });
    const attributes = { service: group, type, outcome };
    runtimeMetrics.processed.add(1, attributes);
    runtimeMetrics.duration.record((performance.now() - startedAt) / 1000, attributes);
  }

  async function handleEntry(delivery: Delivery, span: Span): Promise<Outcome> {
    const decoded = decodeEvent(delivery.fields);
    if (!decoded.ok) return deadLetter(delivery, decoded.reason, span);
    if (delivery.deliveryCount > maxDeliveries) {
      return deadLetter(delivery, `not processed after ${maxDeliveries} deliveries`, span);
    }
    try {
      const outcome = await handle(decoded.event, delivery);
      await commit(delivery, outcome);
      log.debug(
        { orderId: decoded.event.orderId, type: decoded.event.type, entryId: delivery.entryId },
        "processed",
      );
      return "processed";
    } catch (error) {
      if (error instanceof NonRetryableError) return deadLetter(delivery, error.message, span);
      recordError(span, error);
      const message = error instanceof Error ? error.message : String(error);
      log.warn(
        {
          err: error,
          stream: delivery.stream,
          entryId: delivery.entryId,
          orderId: decoded.event.orderId,
        },
        "handler failed; the entry stays pending and will be retried",
      );
      await redis.set(delivery.failureKey, message, "EX", failureTtlSeconds).catch(() => {});
      return "retry";
    }
  }

  async function deadLetter(delivery: Delivery, reason: string, span: Span): Promise<Outcome> {
    span.addEvent("dead-lettered", { reason });
    span.setStatus({ code: SpanStatusCode.ERROR, message: `dead-lettered: ${reason}` });
    const fields = [
      "reason",
      reason,
      "stream",
      delivery.stream,
      "entryId",
      delivery.entryId,
      "group",
      group,
      "consumer",
      consumer,
      "deliveries",
      String(delivery.deliveryCount),
      "deadLetteredAt",
      new Date().toISOString(),
      "orderId",
      delivery.fields.orderId ?? "",
      "fields",
      JSON.stringify(delivery.fields),
    ];
    try {
      const isMoved = await ackAndDeadLetter(redis, delivery, keys.deadLetter, fields);
      if (!isMoved) return "duplicate";
      runtimeMetrics.deadLettered.add(1, { service: group, stream: delivery.stream });
      log.error({ stream: delivery.stream, entryId: delivery.entryId, reason }, "dead-lettered");
      return "dead_lettered";
    } catch (error) {
      log.error(
        { err: error, entryId: delivery.entryId },
        "could not dead-letter; entry stays pending",
      );
      return "retry";
    }
  }

  async function read(): Promise<void> {
    let failures = 0;
    while (!isStopping) {
      await limiter.whenFree();
      if (isStopping) break;
      const count = Math.min(batchSize, limiter.free);
      let reply: ReadReply;
      try {
        reply = (await (blocking as RedisClient).xreadgroup(
          "GROUP",
          group,
          consumer,
          "COUNT",
          count,
          "BLOCK",
          blockMs,
          "STREAMS",
          ...streamKeys,
          ...streamKeys.map(() => ">"),
        )) as ReadReply;
        failures = 0;
      } catch (error) {
        if (isStopping) break;
        if (isNoGroupError(error)) {
          log.warn("consumer group missing (stream deleted or Redis reset); recreating it");
          await ensureGroups().catch((err) => log.error({ err }, "could not recreate groups"));
          continue;
        }
        if (isUnblockedByFailover(error)) {
          log.warn({ err: error }, "read ended by a failover; reading from the new master");
          continue;
        }
        failures += 1;
        log.error({ err: error }, "read failed; retrying");
        await sleep(Math.min(5_000, 100 * 2 ** failures));
        continue;
      }
      for (const [stream, entries] of reply ?? []) {
        for (const [entryId, flat] of entries) {
          await limiter.acquire();
          dispatch(stream, entryId, flat ?? [], 1);
        }
      }
    }
  }

  async function claimStale(): Promise<void> {
    for (const stream of streamKeys) {
      let cursor = "0-0";
      do {
        if (isStopping) return;
        const [next, entries, deletedIds = []] = (await redis.xautoclaim(
          stream,
          group,
          consumer,
          claimIdleMs,
          cursor,
          "COUNT",
          batchSize,
        )) as [string, RawEntry[], string[]?];
        cursor = next;
        if (deletedIds.length > 0) await redis.xack(stream, group, ...deletedIds);
        const claimed = entries.filter(([id]) => !inFlight.has(`${stream}|${id}`));
        if (claimed.length === 0) continue;
        const counts = await deliveryCounts(stream, claimed);
        log.warn(
          { stream, count: claimed.length },
          "claimed entries left pending by another consumer",
        );
        for (const [entryId, flat] of claimed) {
          const deliveryCount = counts.get(entryId);
          if (deliveryCount === undefined) continue;
          await limiter.acquire();
          dispatch(stream, entryId, flat ?? [], deliveryCount);
        }
      } while (cursor !== "0-0");
    }
  }

  /**
   * The delivery count of each claimed entry, looked up one by one: a range query would also
   * cover this consumer's own pending entries between them and run out before the last ones.
   * An entry missing from the answer is no longer ours (acknowledged or claimed meanwhile).
   */
  /**
   * Keeps this consumer's lease (three claim intervals long, renewed every one), then removes
   * the consumers of the group that died: their entries are claimed by now and no lease is live.
   */
  async function renewLeaseAndRemoveDead(): Promise<void> {
    await renewConsumerLease(redis, {
      streams: streamKeys,
      group,
      name: consumer,
      leaseMs: 3 * claimIntervalMs,
    });
    for (const stream of streamKeys) {
      const removed = await removeDeadConsumers(redis, { stream, group, self: consumer });
      if (removed.length > 0) log.info({ stream, removed }, "removed dead consumers");
    }
  }

  async function deliveryCounts(stream: string, entries: RawEntry[]): Promise<Map<string, number>> {
    const pipeline = redis.pipeline();
    for (const [id] of entries) pipeline.xpending(stream, group, id, id, 1, consumer);
    const replies = (await pipeline.exec()) ?? [];
    const counts = new Map<string, number>();
    for (const [error, rows] of replies) {
      const [row] = (error ? [] : rows) as Array<[string, string, number, number]>;
      if (row) counts.set(row[0], Number(row[3]));
    }
    return counts;
  }

  /**
   * Removes this consumer from its groups after a clean stop, so that the groups list only live
   * consumers. Only with nothing pending: deleting a consumer drops its pending entries.
   */
  async function leaveGroups(): Promise<void> {
    for (const stream of streamKeys) {
      const mine = (await redis
        .xpending(stream, group, "-", "+", 1, consumer)
        .catch(() => [undefined])) as unknown[];
      if (mine.length === 0)
        await redis.xgroup("DELCONSUMER", stream, group, consumer).catch(() => {});
    }
  }

  function scheduleClaims(): void {
    const run = () => {
      if (isStopping || claiming) return;
      claiming = claimStale()
        .then(renewLeaseAndRemoveDead)
        .catch((error) => {
          if (isNoGroupError(error)) return ensureGroups();
          log.error({ err: error }, "claiming stale entries failed");
        })
        .finally(() => {
          claiming = undefined;
        });
    };
    run();
    claimTimer = setInterval(run, claimIntervalMs);
    claimTimer.unref();
  }

  return {
    get isRunning() {
      return isRunning;
    },
    get inFlight() {
      return limiter.inFlight;
    },
    ensureGroups,
    async start() {
      if (isRunning || isStopping) return;
      await ensureGroups();
      blocking = options.openBlockingConnection();
      const connection = blocking;
      // Read errors are handled (and logged) by the read loop; this only keeps ioredis quiet.
      connection.on("error", (error) => log.debug({ err: error }, "blocking connection error"));
      // A cluster client's blocked read is on whichever node holds the partition, where this
      // process has no client id to unblock: stop drops that connection instead (see stop).
      if (!(connection instanceof Cluster)) {
        const rememberId = async () => {
          blockingClientId = Number(await connection.client("ID"));
        };
        connection.on("ready", () => void rememberId().catch(() => {}));
        await rememberId();
      }
      isRunning = true;
      readLoop = read();
      scheduleClaims();
      log.info({ streams: options.streams, concurrency, batchSize }, "consumer started");
    },
    stop() {
      stopping ??= (async () => {
        isStopping = true;
        const deadline = Date.now() + stopTimeoutMs;
        const untilDeadline = <T>(work: Promise<T> | undefined) =>
          Promise.race([work?.then(() => true), sleep(Math.max(0, deadline - Date.now()), false)]);
        if (claimTimer) clearInterval(claimTimer);
        if (blockingClientId !== undefined) {
          // Ends the blocked XREADGROUP now instead of after up to blockMs.
          await untilDeadline(redis.client("UNBLOCK", blockingClientId).catch(() => {}));
        } else {
          // Entries Redis hands out in the instant the connection drops stay pending on this
          // consumer, and are claimed after claimIdleMs: delayed, never lost.
          blocking?.disconnect();
        }
        // With Redis unreachable the read waits in the offline queue: drop the connection.
        if (!(await Promise.race([readLoop?.then(() => true), sleep(blockMs + 500, false)]))) {
          blocking?.disconnect();
        }
        await untilDeadline(readLoop);
        await untilDeadline(claiming);
        const isDrained = await untilDeadline(Promise.allSettled([...inFlight.values()]));
        if (!isDrained) {
          log.warn({ inFlight: inFlight.size }, "stop timed out; unfinished entries stay pending");
        } else {
          await untilDeadline(leaveGroups());
        }
        blocking?.disconnect();
        isRunning = false;
        log.info("consumer stopped");
      })();
      return stopping;
    },
  };
}
