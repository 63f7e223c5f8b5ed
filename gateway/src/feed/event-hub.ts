import { setTimeout as sleep } from "node:timers/promises";
import { fieldsToRecord, type Keys } from "@conveyor/contract";
import type { Logger, RedisClient } from "@conveyor/runtime";
import { eventFromFeedEntry, type OrderEvent } from "../read-model/records.ts";

/** Receives live events; must not throw or block (it only queues the event). */
export type FeedListener = (event: OrderEvent) => void;

/** A listener's registration with the hub. */
export interface HubSubscription {
  /**
   * The cursor of the last event the hub had dispatched when the listener was added: every
   * feed event after it reaches the listener, every event up to it is already in Redis.
   */
  readonly position: string;
  unsubscribe(): void;
}

/** Options of {@link createEventHub}. */
export interface EventHubOptions {
  /** Connection for the starting position (commands). */
  redis: RedisClient;
  /** Opens the connection the blocking read loop owns. */
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
  /** The cursor of the last event dispatched. */
  readonly position: string;
  /** Listeners registered now. */
  readonly listenerCount: number;
}

type FeedReply = Array<[stream: string, entries: Array<[id: string, fields: string[]]>]> | null;

/**
 * Reads the feed with one `XREAD BLOCK` loop on its own connection, starting from the feed's
 * last entry at start, and hands each event to the listeners of its order and to the listeners
 * of every event. A thousand subscribers cost Redis what one does.
 */
export function createEventHub(options: EventHubOptions): EventHub {
  const { redis, keys, batchSize = 500, blockMs = 5_000 } = options;
  const log = options.logger.child({ component: "event-hub" });
  const byOrder = new Map<string, Set<FeedListener>>();
  const everything = new Set<FeedListener>();
  let position = "0-0";
  let listenerCount = 0;
  let blocking: RedisClient | undefined;
  let loop: Promise<void> | undefined;
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

  async function read(connection: RedisClient): Promise<void> {
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
          keys.feed,
          position,
        )) as FeedReply;
        failures = 0;
      } catch (error) {
        if (isStopping) break;
        failures += 1;
        log.error({ err: error }, "reading the feed failed; retrying");
        await sleep(Math.min(5_000, 100 * 2 ** failures));
        continue;
      }
      for (const [, entries] of reply ?? []) {
        for (const [entryId, flat] of entries) {
          position = entryId;
          const event = eventFromFeedEntry(entryId, fieldsToRecord(flat ?? []));
          if (event) dispatch(event);
          else log.warn({ entryId }, "skipped a feed entry that is not an event");
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
      const [last] = await redis.xrevrange(keys.feed, "+", "-", "COUNT", 1);
      position = last?.[0] ?? "0-0";
      blocking = options.openBlockingConnection();
      isRunning = true;
      loop = read(blocking);
      log.info({ position }, "event hub reading the feed");
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
        blocking?.disconnect();
        await Promise.race([loop, sleep(1_000)]);
        isRunning = false;
      })();
      return stopping;
    },
  };
}
