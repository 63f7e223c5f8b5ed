import { fieldsToRecord, type Keys } from "@conveyor/contract";
import type { RedisClient } from "@conveyor/runtime";
import { replyToRecord } from "@conveyor/runtime";
import { gatewayError } from "../errors.ts";
import type { OrderStore } from "../orders/order-store.ts";
import { eventFromFeedEntry, type OrderEvent } from "../read-model/records.ts";
import { createEventFeed, type EventFeed } from "../subscriptions/event-feed.ts";
import { compareCursors, isCursor } from "./cursor.ts";
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

function checkCursor(after: string | undefined): void {
  if (after !== undefined && !isCursor(after)) {
    throw gatewayError(
      "BAD_USER_INPUT",
      `after must be the cursor of an event (like "1700000000000-0"), got ${JSON.stringify(after.slice(0, 64))}`,
    );
  }
}

/** Makes the subscriptions: each one a listener on the hub plus, first, what came before. */
export function createFeedSubscriptions(options: FeedSubscriptionsOptions): FeedSubscriptions {
  const { redis, keys, hub, orders, bufferSize, pageSize } = options;

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

  /** Feed entries after `after` up to `until`, page by page. */
  async function* feedRange(after: string, until: string): AsyncGenerator<OrderEvent> {
    let start = `(${after}`;
    for (;;) {
      const entries = await redis.xrange(keys.feed, start, until, "COUNT", pageSize);
      for (const [entryId, flat] of entries) {
        const event = eventFromFeedEntry(entryId, fieldsToRecord(flat));
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
  async function checkNotTrimmed(after: string): Promise<void> {
    const info = replyToRecord(await redis.xinfo("STREAM", keys.feed).catch(() => []));
    if (!(Number(info["entries-added"] ?? 0) > Number(info.length ?? 0))) return;
    const firstEntry = info["first-entry"] as [string, unknown] | null | undefined;
    const oldestKept = firstEntry?.[0] ?? String(info["last-generated-id"] ?? "0-0");
    if (compareCursors(after, oldestKept) < 0) {
      throw gatewayError(
        "CURSOR_EXPIRED",
        `Events after ${after} are no longer kept (the feed holds the most recent ones); query order(id) for the orders you follow, then subscribe without after.`,
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
        checkCursor(after);
        if (orderId.length === 0 || orderId.length > 64) {
          throw gatewayError("BAD_USER_INPUT", "orderId must be 1 to 64 characters");
        }
        // Read after the member joined the live source: whatever it misses here arrives live.
        const history = await orders.history(orderId);
        return { events: history.values() };
      });
    },
    events(after) {
      return feedOf(undefined, after, async (position) => {
        checkCursor(after);
        if (after === undefined) return { startAfter: position };
        await checkNotTrimmed(after);
        return { events: feedRange(after, position) };
      });
    },
  };
}
