import { setTimeout as sleep } from "node:timers/promises";
import { fieldsToRecord, type Keys, type PartitionKeys } from "@conveyor/contract";
import { isUnblockedByFailover, type Logger, type RedisClient } from "@conveyor/runtime";
import { eventFromFeedEntry, type OrderEvent } from "../read-model/records.ts";
import { advance, encodeCursor, type FeedPosition, feedStart } from "./cursor.ts";

/** Receives live events; must not throw or block (it only queues the event). */
export type FeedListener = (event: OrderEvent) => void;

/** A listener's registration with the hub. */
export interface HubSubscription {
  /**
   * The hub's position when the listener was added: every feed event after it reaches the
   * listener, every event up to it is already in Redis.
   */
  readonly position: FeedPosition;
  unsubscribe(): void;
}

/** Options of {@link createEventHub}. */
export interface EventHubOptions {
  /** Connection for the starting position (commands). */
  redis: RedisClient;
  /** Opens a connection for a blocking read loop (one per partition), which it owns. */
  openBlockingConnection: () => RedisClient;
  keys: Keys;
  logger: Logger;
  /** Most entries one read returns. Default 500. */
  batchSize?: number;
  /** How long one blocking read waits. Default 5,000 ms. */
  blockMs?: number;
}

/** The process's single reader of the feed, fanning events out to in-memory listeners. */
export interface EventHub {
  start(): Promise<void>;
  /** Stops the read loop and closes its connection. Idempotent. */
  stop(): Promise<void>;
  /** Adds a listener for one order's events, or every event when `orderId` is undefined. */
  subscribe(orderId: string | undefined, listener: FeedListener): HubSubscription;
  readonly isRunning: boolean;
  /** Where the hub is in every partition of the feed: after the last event dispatched. */
  readonly position: FeedPosition;
  /** Listeners registered now. */
  readonly listenerCount: number;
}

type FeedReply = Array<[stream: string, entries: Array<[id: string, fields: string[]]>]> | null;

/**
 * Reads the feed with one `XREAD BLOCK` loop per partition, each on its own connection (a
 * cluster serves a blocking read on the node of its partition), starting from each partition's
 * last entry at start, and hands each event to the listeners of its order and to the listeners
 * of every event. A thousand subscribers cost Redis what one does.
 *
 * The partitions' events are merged in the order they arrive. Each live event carries the
 * hub's position before and after it, so the cursor of every frame covers all partitions.
 * Another gateway may merge them in another order; each of its positions is as valid a place
 * to resume from, since a position says, per partition, how far delivery got.
 */
export function createEventHub(options: EventHubOptions): EventHub {
  const { redis, keys, batchSize = 500, blockMs = 5_000 } = options;
  const log = options.logger.child({ component: "event-hub" });
  const byOrder = new Map<string, Set<FeedListener>>();
  const everything = new Set<FeedListener>();
  let position = feedStart(keys.partitions.length);
  let listenerCount = 0;
  const connections: RedisClient[] = [];
  let loops: Promise<void>[] = [];
  let isRunning = false;
  let isStopping = false;
  let stopping: Promise<void> | undefined;

  function deliver(listener: FeedListener, event: OrderEvent): void {
    try {
      listener(event);
    } catch (error) {
      log.error({ err: error }, "a feed listener threw; it is skipped for this event");
    }
  }

  function dispatch(event: OrderEvent): void {
    for (const listener of byOrder.get(event.orderId) ?? []) deliver(listener, event);
    for (const listener of everything) deliver(listener, event);
  }

  async function read(partition: PartitionKeys, connection: RedisClient): Promise<void> {
    const { index } = partition;
    let failures = 0;
    while (!isStopping) {
      let reply: FeedReply;
      try {
        reply = (await connection.xread(
          "COUNT",
          batchSize,
          "BLOCK",
          blockMs,
          "STREAMS",
          partition.feed,
          position[index] as string,
        )) as FeedReply;
        failures = 0;
      } catch (error) {
        if (isStopping) break;
        if (isUnblockedByFailover(error)) {
          log.warn(
            { err: error, partition: index },
            "feed read ended by a failover; reading again",
          );
          continue;
        }
        failures += 1;
        log.error({ err: error, partition: index }, "reading the feed failed; retrying");
        await sleep(Math.min(5_000, 100 * 2 ** failures));
        continue;
      }
      for (const [, entries] of reply ?? []) {
        for (const [entryId, flat] of entries) {
          const before = position;
          position = advance(before, index, entryId);
          const event = eventFromFeedEntry(index, entryId, fieldsToRecord(flat ?? []));
          if (!event) {
            log.warn({ entryId, partition: index }, "skipped a feed entry that is not an event");
            continue;
          }
          event.before = before;
          event.after = position;
          event.cursor = encodeCursor(position);
          dispatch(event);
        }
      }
    }
  }

  return {
    get isRunning() {
      return isRunning;
    },
    get position() {
      return position;
    },
    get listenerCount() {
      return listenerCount;
    },
    async start() {
      if (isRunning || isStopping) return;
      const lasts = await Promise.all(
        keys.partitions.map((partition) => redis.xrevrange(partition.feed, "+", "-", "COUNT", 1)),
      );
      position = Object.freeze(lasts.map(([last]) => last?.[0] ?? "0-0"));
      isRunning = true;
      loops = keys.partitions.map((partition) => {
        const connection = options.openBlockingConnection();
        connections.push(connection);
        return read(partition, connection);
      });
      log.info({ position: encodeCursor(position) }, "event hub reading the feed");
    },
    subscribe(orderId, listener) {
      const set = orderId === undefined ? everything : (byOrder.get(orderId) ?? new Set());
      if (orderId !== undefined) byOrder.set(orderId, set);
      set.add(listener);
      listenerCount += 1;
      let isSubscribed = true;
      return {
        position,
        unsubscribe() {
          if (!isSubscribed) return;
          isSubscribed = false;
          set.delete(listener);
          listenerCount -= 1;
          if (orderId !== undefined && set.size === 0 && byOrder.get(orderId) === set) {
            byOrder.delete(orderId);
          }
        },
      };
    },
    stop() {
      stopping ??= (async () => {
        isStopping = true;
        // Disconnecting ends the blocked XREAD at once instead of after up to blockMs. But a
        // read queued on a connection that is still reconnecting to a Redis that went down is
        // never settled by ioredis's disconnect, so the loop gets a second, no more.
        for (const connection of connections) connection.disconnect();
        await Promise.race([Promise.all(loops), sleep(1_000)]);
        isRunning = false;
      })();
      return stopping;
    },
  };
}
