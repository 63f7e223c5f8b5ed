import { fieldsToRecord, type Keys, type PartitionKeys } from "@conveyor/contract";
import { type RedisClient, replyToRecord } from "@conveyor/runtime";
import { gatewayError } from "../errors.ts";
import type { OrderStore } from "../orders/order-store.ts";
import { eventFromFeedEntry, type OrderEvent } from "../read-model/records.ts";
import { createEventFeed, type EventFeed } from "../subscriptions/event-feed.ts";
import {
  compareCursors,
  cursorExample,
  type FeedPosition,
  feedStart,
  parseCursor,
} from "./cursor.ts";
import type { EventHub } from "./event-hub.ts";

/** Options of {@link createFeedSubscriptions}. */
export interface FeedSubscriptionsOptions {
  redis: RedisClient;
  keys: Keys;
  hub: EventHub;
  orders: OrderStore;
  /** Live events one subscriber may have waiting before it is closed as too slow. */
  bufferSize: number;
  /** Feed entries read per page when catching up from a cursor. */
  pageSize: number;
}

/** The two event subscriptions of the API, as feeds the multiplexer can share. */
export interface FeedSubscriptions {
  /** One order's history, then its live events. */
  orderEvents(orderId: string, after: string | undefined): EventFeed;
  /** Every event after `after` (from the feed), then live; without `after`, live from now. */
  events(after: string | undefined): EventFeed;
}

/** Makes the subscriptions: each one a listener on the hub plus, first, what came before. */
export function createFeedSubscriptions(options: FeedSubscriptionsOptions): FeedSubscriptions {
  const { redis, keys, hub, orders, bufferSize, pageSize } = options;
  const partitionCount = keys.partitions.length;

  /** The position `after` names, or the start; a coded error when it is not a cursor. */
  function positionAfter(after: string | undefined): FeedPosition {
    if (after === undefined) return feedStart(partitionCount);
    const position = parseCursor(after, partitionCount);
    if (position) return position;
    throw gatewayError(
      "BAD_USER_INPUT",
      `after must be the cursor of an event (like "${cursorExample(partitionCount)}"), got ${JSON.stringify(after.slice(0, 64))}`,
    );
  }

  function overflowError(lastCursor: string | undefined): Error {
    const resume = lastCursor
      ? `subscribe again with after: "${lastCursor}" to resume without losing events`
      : "subscribe again to resume";
    return gatewayError(
      "SLOW_SUBSCRIBER",
      `This subscriber fell more than ${bufferSize} events behind and was closed; ${resume}.`,
      { resumeAfter: lastCursor ?? null },
    );
  }

  /** One partition's feed entries after `after` up to `until`, page by page. */
  async function* feedRange(
    partition: PartitionKeys,
    after: string,
    until: string,
  ): AsyncGenerator<OrderEvent> {
    let start = `(${after}`;
    for (;;) {
      if (compareCursors(after, until) >= 0) return;
      const entries = await redis.xrange(partition.feed, start, until, "COUNT", pageSize);
      for (const [entryId, flat] of entries) {
        const event = eventFromFeedEntry(partition.index, entryId, fieldsToRecord(flat));
        if (event) yield event;
      }
      const last = entries.at(-1);
      if (!last || entries.length < pageSize) return;
      start = `(${last[0]}`;
    }
  }

  /**
   * Fails when events after `after` were trimmed from the feed. The feed is only ever trimmed
   * from its oldest end, so that is when `after` is older than the oldest entry kept (or, with
   * nothing kept, older than the last entry ever added). One case is reported although nothing
   * was lost: `after` being exactly the newest trimmed entry; Redis does not tell that apart.
   */
  async function checkNotTrimmed(partition: PartitionKeys, after: string): Promise<void> {
    const info = replyToRecord(await redis.xinfo("STREAM", partition.feed).catch(() => []));
    if (!(Number(info["entries-added"] ?? 0) > Number(info.length ?? 0))) return;
    const firstEntry = info["first-entry"] as [string, unknown] | null | undefined;
    const oldestKept = firstEntry?.[0] ?? String(info["last-generated-id"] ?? "0-0");
    if (compareCursors(after, oldestKept) < 0) {
      throw gatewayError(
        "CURSOR_EXPIRED",
        `Events after this cursor are no longer kept (the feed holds the most recent ones); query order(id) for the orders you follow, then subscribe without after.`,
      );
    }
  }

  const feedOf = (
    orderId: string | undefined,
    after: string | undefined,
    catchUp: EventFeed["catchUp"],
  ) => createEventFeed({ hub, orderId, after, catchUp, capacity: bufferSize, overflowError });

  return {
    orderEvents(orderId, after) {
      return feedOf(orderId, after, async () => {
        // Checked here, not before: an error from opening reaches clients of every transport
        // as a GraphQL error in the stream (graphql-sse answers a failed subscribe with a 400).
        const from = positionAfter(after);
        if (orderId.length === 0 || orderId.length > 64) {
          throw gatewayError("BAD_USER_INPUT", "orderId must be 1 to 64 characters");
        }
        // Read after the member joined the live source: whatever it misses here arrives live.
        const history = await orders.history(orderId);
        return { from, events: history.values() };
      });
    },
    events(after) {
      return feedOf(undefined, after, async (position) => {
        const from = positionAfter(after);
        if (after === undefined) return { from: position };
        await Promise.all(
          keys.partitions.map((partition) =>
            checkNotTrimmed(partition, from[partition.index] as string),
          ),
        );
        const ranges = keys.partitions.map((partition) =>
          feedRange(
            partition,
            from[partition.index] as string,
            position[partition.index] as string,
          ),
        );
        return { from, events: mergeByEntryId(ranges) };
      });
    },
  };
}

/**
 * Merges the partitions' catch-up reads into one sequence, oldest entry id first: the order the
 * events were projected in, within the clocks' agreement. Each partition stays in its order.
 */
async function* mergeByEntryId(
  ranges: readonly AsyncGenerator<OrderEvent>[],
): AsyncGenerator<OrderEvent> {
  if (ranges.length === 1) {
    yield* ranges[0] as AsyncGenerator<OrderEvent>;
    return;
  }
  const heads = await Promise.all(ranges.map((range) => range.next()));
  try {
    for (;;) {
      let oldest = -1;
      heads.forEach((head, index) => {
        if (head.done) return;
        const current = heads[oldest];
        if (
          !current ||
          current.done ||
          compareCursors(head.value.entryId, current.value.entryId) < 0
        )
          oldest = index;
      });
      const head = heads[oldest];
      if (!head || head.done) return;
      yield head.value;
      heads[oldest] = await (ranges[oldest] as AsyncGenerator<OrderEvent>).next();
    }
  } finally {
    await Promise.all(ranges.map((range) => range.return(undefined)));
  }
}
