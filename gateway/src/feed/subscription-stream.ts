import type { OrderEvent } from "../read-model/records.ts";
import { isAfter } from "./cursor.ts";

/** What one subscription yields: events, and at most one final error (then it ends). */
export type StreamItem = OrderEvent | Error;

/** What opening a subscription's sources gives back. */
export interface OpenedSources {
  /** Events from before the live listener was added (history), read after adding it. */
  catchUp?: AsyncIterator<OrderEvent> | Iterator<OrderEvent> | undefined;
  /** Removes the live listener. */
  detach(): void;
  /** Where delivery starts when the subscriber gave no `after` (e.g. the live position). */
  startAfter?: string | undefined;
}

/** Options of {@link createSubscriptionStream}. */
export interface SubscriptionStreamOptions {
  /** Live events that may wait unpulled before the subscriber is closed as too slow. */
  capacity: number;
  /** Deliver only events after this cursor. */
  after?: string | undefined;
  /**
   * Adds the live listener first (so nothing is missed while history is read), then returns the
   * history to deliver before the live events.
   */
  open(push: (event: OrderEvent) => void): OpenedSources | Promise<OpenedSources>;
  /** The error ending a subscriber that overflowed, given the cursor it should resume after. */
  overflowError(lastCursor: string | undefined): Error;
  /** Whether the transport can take another item (see {@link WhenReady}). Default: always. */
  whenReady?: WhenReady | undefined;
}

/**
 * Nothing when the transport can take another item now; else a promise that resolves when it
 * can (a response whose client reads slowly pushes back). Meanwhile live events wait in the
 * subscriber's buffer.
 */
export type WhenReady = () => Promise<void> | undefined;

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * One subscriber's stream: history first, then live events, each at most once and in cursor
 * order (an event is delivered only if its cursor is after the last one delivered, which
 * removes the overlap where history and live events meet). Live events wait in a bounded
 * buffer; when it overflows the subscriber is detached at once and gets one error telling it
 * where to resume, so a slow subscriber never holds memory or stalls anyone else.
 *
 * `return()` ends it at once, even while it waits, and detaches it.
 */
export function createSubscriptionStream(
  options: SubscriptionStreamOptions,
): AsyncIterableIterator<StreamItem> {
  const { capacity } = options;
  let lastCursor = options.after;
  let buffer: OrderEvent[] = [];
  let catchUp: AsyncIterator<OrderEvent> | Iterator<OrderEvent> | undefined;
  let detach: () => void = () => {};
  let terminal: Error | undefined;
  let isClosed = false;
  let isOpened = false;
  let wake: (() => void) | undefined;
  let signalClosed: () => void = () => {};
  const closed = new Promise<typeof DONE>((resolve) => {
    signalClosed = () => resolve(DONE);
  });

  function notify(): void {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  }

  function push(event: OrderEvent): void {
    if (isClosed || terminal) return;
    if (buffer.length >= capacity) {
      buffer = [];
      terminal = options.overflowError(lastCursor);
      detach();
      void catchUp?.return?.();
      catchUp = undefined;
    } else {
      buffer.push(event);
    }
    notify();
  }

  function close(): void {
    if (isClosed) return;
    isClosed = true;
    buffer = [];
    detach();
    void catchUp?.return?.();
    catchUp = undefined;
    signalClosed();
    notify();
  }

  const opened = (async () => {
    try {
      const sources = await options.open(push);
      detach = sources.detach;
      catchUp = sources.catchUp;
      lastCursor ??= sources.startAfter;
      if (isClosed || terminal) detach();
    } catch (error) {
      terminal ??= error instanceof Error ? error : new Error(String(error));
    }
    isOpened = true;
  })();

  function deliver(event: OrderEvent): IteratorResult<StreamItem> | undefined {
    if (!isAfter(event.cursor, lastCursor)) return undefined;
    lastCursor = event.cursor;
    return { done: false, value: event };
  }

  const stream: AsyncIterableIterator<StreamItem> = {
    [Symbol.asyncIterator]() {
      return stream;
    },
    async next() {
      // Raced only while pending: every race adds a reaction to `closed` that stays until the
      // subscription ends, which per event and subscriber added up.
      if (!isOpened) await Promise.race([opened, closed]);
      const ready = options.whenReady?.();
      if (ready) await Promise.race([ready, closed]);
      for (;;) {
        if (isClosed) return DONE;
        if (catchUp && !terminal) {
          const source = catchUp;
          let result: IteratorResult<OrderEvent> | typeof DONE;
          try {
            result = await Promise.race([source.next(), closed]);
          } catch (error) {
            terminal = error instanceof Error ? error : new Error(String(error));
            detach();
            continue;
          }
          if (isClosed) return DONE;
          if (terminal) continue;
          if (result.done) {
            if (catchUp === source) catchUp = undefined;
            continue;
          }
          const delivered = deliver(result.value);
          if (delivered) return delivered;
          continue;
        }
        if (terminal) {
          const error = terminal;
          close();
          return { done: false, value: error };
        }
        const event = buffer.shift();
        if (event) {
          const delivered = deliver(event);
          if (delivered) return delivered;
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
    async return() {
      close();
      return DONE;
    },
  };
  return stream;
}
