import { isAfter } from "../feed/cursor.ts";
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
  /** Events from before the live position, read after the member joined the live source. */
  events?: AsyncIterator<OrderEvent> | Iterator<OrderEvent> | undefined;
  /** Where delivery starts when the subscriber gave no `after` (the live position). */
  startAfter?: string | undefined;
}

/** Options of {@link createMember}. */
export interface MemberOptions<TFrame> {
  /** Live events that may wait (while catching up or while the sink is full) before overflow. */
  capacity: number;
  /** Deliver only events after this cursor. */
  after: string | undefined;
  sink: MemberSink<TFrame>;
  /** The frame of an event read while catching up (live frames come rendered). */
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
 * cursor order (an event goes out only if its cursor is after the last one delivered, which
 * removes the overlap where history and live events meet). Live events arrive already rendered
 * and, while the member is live and its sink has room, are written synchronously: no promise,
 * no copy. While it catches up or its client reads slowly they wait in a bounded backlog; when
 * that overflows the member ends alone, with an error saying where to resume.
 */
export function createMember<TFrame>(options: MemberOptions<TFrame>): Member<TFrame> {
  const { capacity, sink } = options;
  let lastCursor = options.after;
  let backlog: Array<[OrderEvent, TFrame]> = [];
  let isLive = false;
  let isDraining = false;
  let isClosed = false;
  let history: CatchUp["events"];

  function deliver(event: OrderEvent, frame: TFrame): void {
    if (!isAfter(event.cursor, lastCursor)) return;
    lastCursor = event.cursor;
    sink.write(event, frame);
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

  return {
    get lastCursor() {
      return lastCursor;
    },
    offer(event, frame) {
      if (isClosed) return;
      if (isLive && backlog.length === 0 && !isDraining && sink.isReady()) {
        deliver(event, frame);
        return;
      }
      if (backlog.length >= capacity) {
        end(options.overflowError(lastCursor));
        return;
      }
      backlog.push([event, frame]);
      if (isLive) void drain();
    },
    async start() {
      try {
        const opened = await options.catchUp();
        lastCursor ??= opened.startAfter;
        history = opened.events;
        while (history && !isClosed) {
          const result = await history.next();
          if (result.done || isClosed) break;
          if (!isAfter(result.value.cursor, lastCursor)) continue;
          if (!sink.isReady()) await sink.whenReady();
          if (isClosed) break;
          deliver(result.value, options.render(result.value));
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
