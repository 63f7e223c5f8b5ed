import { fieldsToRecord, type Keys } from "@conveyor/contract";
import { replyToRecord } from "@conveyor/runtime";
import type { Redis } from "ioredis";
import { gatewayError } from "../errors.ts";
import type { OrderStore } from "../orders/order-store.ts";
import { eventFromFeedEntry, type OrderEvent } from "../read-model/records.ts";
import { compareCursors, isCursor } from "./cursor.ts";
import type { EventHub } from "./event-hub.ts";
import {
  createSubscriptionStream,
  type StreamItem,
  type WhenReady,
} from "./subscription-stream.ts";

/** Options of {@link createFeedSubscriptions}. */
export interface FeedSubscriptionsOptions {
  redis: Redis;
  keys: Keys;
  hub: EventHub;
  orders: OrderStore;
  /** Live events one subscriber may have waiting before it is closed as too slow. */
  bufferSize: number;
  /** Feed entries read per page when catching up from a cursor. */
  pageSize: number;
}

/** The two event subscriptions of the API, as async iterators of events (and a final error). */
export interface FeedSubscriptions {
  /** One order's history, then its live events. */
  orderEvents(
    orderId: string,
    after: string | undefined,
    whenReady?: WhenReady,
  ): AsyncIterableIterator<StreamItem>;
  /** Every event after `after` (from the feed), then live; without `after`, live from now. */
  events(after: string | undefined, whenReady?: WhenReady): AsyncIterableIterator<StreamItem>;
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

  return {
    orderEvents(orderId, after, whenReady) {
      return createSubscriptionStream({
        capacity: bufferSize,
        after,
        overflowError,
        whenReady,
        async open(push) {
          // Checked here, not before: an error from the stream reaches clients of every
          // transport as a GraphQL error (graphql-sse answers a failed subscribe with a 400).
          checkCursor(after);
          if (orderId.length === 0 || orderId.length > 64) {
            throw gatewayError("BAD_USER_INPUT", "orderId must be 1 to 64 characters");
          }
          const subscription = hub.subscribe(orderId, push);
          try {
            const history = await orders.history(orderId);
            return { detach: subscription.unsubscribe, catchUp: history.values() };
          } catch (error) {
            subscription.unsubscribe();
            throw error;
          }
        },
      });
    },
    events(after, whenReady) {
      return createSubscriptionStream({
        capacity: bufferSize,
        after,
        overflowError,
        whenReady,
        async open(push) {
          checkCursor(after);
          const subscription = hub.subscribe(undefined, push);
          if (after === undefined) {
            return { detach: subscription.unsubscribe, startAfter: subscription.position };
          }
          try {
            await checkNotTrimmed(after);
          } catch (error) {
            subscription.unsubscribe();
            throw error;
          }
          return {
            detach: subscription.unsubscribe,
            catchUp: feedRange(after, subscription.position),
          };
        },
      });
    },
  };
}
