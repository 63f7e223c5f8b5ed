import {
  advance,
  compareCursors,
  encodeCursor,
  type FeedPosition,
  isSamePosition,
} from "../feed/cursor.ts";
import type { OrderEvent } from "../read-model/records.ts";

/** Where one subscriber's frames go: a connection's event stream, or an async iterator. */
export interface MemberSink<TFrame> {
  /** Whether a frame written now fits the subscriber's output bound. */
  isReady(): boolean;
  /** Resolves once a frame fits again (or the subscriber is gone). */
  whenReady(): Promise<void>;
  /** Writes one event's frame, rendered once for every subscriber of its cohort. */
  write(event: OrderEvent, frame: TFrame): void;
  /** Ends the subscription, with its final error if it failed. Called at most once. */
  end(error?: Error): void;
}

/** What opening a subscription's history gives back. */
export interface CatchUp {
  /** Where delivery starts: the subscriber's `after`, or the live position, or the start. */
  from: FeedPosition;
  /** Events from before the live position, read after the member joined the live source. */
  events?: AsyncIterator<OrderEvent> | Iterator<OrderEvent> | undefined;
}

/** Options of {@link createMember}. */
export interface MemberOptions<TFrame> {
  /** Live events that may wait (while catching up or while the sink is full) before overflow. */
  capacity: number;
  /** The cursor the subscriber asked to start after, as given (until the history is opened). */
  after: string | undefined;
  /**
   * Whether it follows every event (then its cursors must cover every partition) rather than
   * one order's (whose events are all in one partition).
   */
  isWholeFeed: boolean;
  sink: MemberSink<TFrame>;
  /** The frame of an event whose cursor is this member's own (live frames come rendered). */
  render(event: OrderEvent): TFrame;
  /**
   * Reads what came before the live position. Called once the member receives live events, so
   * nothing falls between the two; may throw a coded error, which ends the subscription.
   */
  catchUp(): Promise<CatchUp>;
  /** Leaves the live source. */
  detach(): void;
  /** The error ending a subscriber that overflowed, given the cursor to resume after. */
  overflowError(lastCursor: string | undefined): Error;
}

/** One subscriber of a cohort: its own position, history and bounded backlog. */
export interface Member<TFrame> {
  /** Hands a live event (and its shared frame) to this subscriber. Synchronous, never throws. */
  offer(event: OrderEvent, frame: TFrame): void;
  /** Reads the history, delivers it, then goes live. */
  start(): Promise<void>;
  /** Stops at once (the subscriber left): no more writes, no final frame. Idempotent. */
  close(): void;
  /** Ends it with a final error (e.g. its token expired), after what was already written. */
  fail(error: Error): void;
  /** The cursor of the last event delivered. */
  readonly lastCursor: string | undefined;
}

/**
 * One subscriber's delivery: its history first, then live events, each at most once and in
 * order per partition (an event goes out only if it is after the member's position in its
 * partition, which removes the overlap where history and live events meet). Live events arrive
 * already rendered and, while the member is live and its sink has room, are written
 * synchronously: no promise, no copy. While it catches up or its client reads slowly they wait
 * in a bounded backlog; when that overflows the member ends alone, with an error saying where
 * to resume.
 *
 * A live event's shared frame carries the hub's position after it. A member of the whole feed
 * that is at the hub's position before it (always, once caught up) takes it as is; one that is
 * not (it resumed from a cursor ahead of this hub in some partition) gets a frame with its own
 * cursor, so that no cursor it is given ever goes back.
 */
export function createMember<TFrame>(options: MemberOptions<TFrame>): Member<TFrame> {
  const { capacity, sink, isWholeFeed } = options;
  let position: FeedPosition | undefined;
  let backlog: Array<[OrderEvent, TFrame | undefined]> = [];
  let isLive = false;
  let isDraining = false;
  let isClosed = false;
  let history: CatchUp["events"];

  /** Writes an event unless it was delivered already; `frame` is the shared frame of a live one. */
  function deliver(event: OrderEvent, frame: TFrame | undefined): void {
    const at = position as FeedPosition;
    const { partition, entryId } = event;
    if (compareCursors(entryId, at[partition] as string) <= 0) return;
    if (frame !== undefined && event.after && (event.before === at || !isWholeFeed)) {
      position = isWholeFeed ? event.after : advance(at, partition, entryId);
      sink.write(event, frame);
      return;
    }
    const next = advance(at, partition, entryId);
    if (frame !== undefined && event.after && isSamePosition(next, event.after)) {
      position = event.after;
      sink.write(event, frame);
      return;
    }
    position = next;
    const own = { ...event, cursor: encodeCursor(next) };
    sink.write(own, options.render(own));
  }

  function stop(): void {
    isClosed = true;
    backlog = [];
    options.detach();
    void history?.return?.();
    history = undefined;
  }

  function end(error?: Error): void {
    if (isClosed) return;
    stop();
    sink.end(error);
  }

  async function drain(): Promise<void> {
    if (isDraining) return;
    isDraining = true;
    try {
      while (backlog.length > 0 && !isClosed) {
        if (!sink.isReady()) await sink.whenReady();
        const next = backlog.shift();
        if (!next || isClosed) return;
        deliver(next[0], next[1]);
      }
    } finally {
      isDraining = false;
    }
  }

  const lastCursor = () => (position ? encodeCursor(position) : options.after);

  return {
    get lastCursor() {
      return lastCursor();
    },
    offer(event, frame) {
      if (isClosed) return;
      if (isLive && backlog.length === 0 && !isDraining && sink.isReady()) {
        deliver(event, frame);
        return;
      }
      if (backlog.length >= capacity) {
        end(options.overflowError(lastCursor()));
        return;
      }
      backlog.push([event, frame]);
      if (isLive) void drain();
    },
    async start() {
      try {
        const opened = await options.catchUp();
        position = opened.from;
        history = opened.events;
        while (history && !isClosed) {
          const result = await history.next();
          if (result.done || isClosed) break;
          if (!sink.isReady()) await sink.whenReady();
          if (isClosed) break;
          deliver(result.value, undefined);
        }
      } catch (error) {
        end(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      history = undefined;
      if (isClosed) return;
      isLive = true;
      await drain();
    },
    close() {
      if (!isClosed) stop();
    },
    fail: end,
  };
}
