import type { FeedPosition } from "../feed/cursor.ts";
import type { EventHub } from "../feed/event-hub.ts";
import type { OrderEvent } from "../read-model/records.ts";
import { type CatchUp, createMember } from "./member.ts";

/** What one subscription yields when iterated: events, and at most one final error. */
export type StreamItem = OrderEvent | Error;

const FEED = Symbol("conveyor.eventFeed");

/**
 * What an event subscription's `subscribe` resolver returns: a description of its source that
 * the multiplexer can share among identical subscriptions, which is also a plain async iterable
 * (history, then live) for any executor that maps events one subscriber at a time.
 */
export interface EventFeed extends AsyncIterable<StreamItem> {
  readonly [FEED]: true;
  /** The live events it follows: one order's, or every event (undefined). */
  readonly orderId: string | undefined;
  /** Deliver only events after this cursor. */
  readonly after: string | undefined;
  /**
   * Checks the arguments (throwing a coded GraphQL error), then reads what came before
   * `position`, the hub's position when the subscriber joined: what it will not receive live.
   */
  catchUp(position: FeedPosition): Promise<CatchUp>;
  /** Live events one subscriber may have waiting before it is closed as too slow. */
  readonly capacity: number;
  /** The error ending a subscriber that overflowed, given the cursor to resume after. */
  overflowError(lastCursor: string | undefined): Error;
}

/** Whether a subscription source is an {@link EventFeed}. */
export function isEventFeed(source: unknown): source is EventFeed {
  return typeof source === "object" && source !== null && FEED in source;
}

/** Options of {@link createEventFeed}. */
export interface EventFeedOptions {
  hub: EventHub;
  orderId: string | undefined;
  after: string | undefined;
  catchUp(position: FeedPosition): Promise<CatchUp>;
  /** Live events one subscriber may have waiting before it is closed as too slow. */
  capacity: number;
  overflowError(lastCursor: string | undefined): Error;
}

/** Makes an {@link EventFeed}; iterating it delivers to that one iterator alone. */
export function createEventFeed(options: EventFeedOptions): EventFeed {
  const { orderId, after, catchUp, capacity, overflowError } = options;
  return {
    [FEED]: true,
    orderId,
    after,
    catchUp,
    capacity,
    overflowError,
    [Symbol.asyncIterator]: () => iterate(options),
  };
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/** One subscriber's stream as an async iterator: a member whose sink is a queue. */
function iterate(options: EventFeedOptions): AsyncIterableIterator<StreamItem> {
  const queue: StreamItem[] = [];
  let isEnded = false;
  let wake: (() => void) | undefined;
  let pulled: (() => void) | undefined;
  const notify = () => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  const member = createMember<undefined>({
    capacity: options.capacity,
    after: options.after,
    isWholeFeed: options.orderId === undefined,
    render: () => undefined,
    catchUp: () => options.catchUp(subscription.position),
    detach: () => subscription.unsubscribe(),
    overflowError: options.overflowError,
    sink: {
      // The queue is the backlog: an iterator pulls at its own pace.
      isReady: () => queue.length < options.capacity,
      whenReady: () =>
        new Promise<void>((resolve) => {
          pulled = resolve;
        }),
      write(event) {
        queue.push(event);
        notify();
      },
      end(error) {
        if (error) queue.push(error);
        isEnded = true;
        notify();
      },
    },
  });
  const subscription = options.hub.subscribe(options.orderId, (event) =>
    member.offer(event, undefined),
  );
  void member.start();
  const iterator: AsyncIterableIterator<StreamItem> = {
    [Symbol.asyncIterator]: () => iterator,
    async next() {
      for (;;) {
        const item = queue.shift();
        const resume = pulled;
        pulled = undefined;
        resume?.();
        if (item) return { done: false, value: item };
        if (isEnded) return DONE;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
    async return() {
      member.close();
      isEnded = true;
      queue.length = 0;
      notify();
      pulled?.();
      return DONE;
    },
  };
  return iterator;
}
