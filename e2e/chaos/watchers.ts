import { setTimeout as sleep } from "node:timers/promises";
import { partitionOf } from "@conveyor/contract";
import { createClient } from "graphql-sse";
import { compareCursors, type FeedPosition, parseCursor } from "../../gateway/src/feed/cursor.ts";

/** An event as a soak client selects it. */
export interface WatchedEvent {
  id: string;
  cursor: string;
  type: string;
  orderId: string;
  /**
   * Not selected: the event's entry id in its partition's feed, read off its cursor (with one
   * partition, the cursor itself). The read model's history stores the same id.
   */
  entryId: string;
}

const FIELDS = "id cursor type orderId";

/** Every event, from the feed. */
export const EVENTS_SUBSCRIPTION = `subscription ChaosEvents($after: String) {
  events(after: $after) { ${FIELDS} }
}`;

/** One order's events. */
export const ORDER_EVENTS_SUBSCRIPTION = `subscription ChaosOrder($orderId: ID!, $after: String) {
  orderEvents(orderId: $orderId, after: $after) { ${FIELDS} }
}`;

/** Options of {@link watch}. */
export interface WatchOptions {
  /** The graphql-sse endpoint. */
  url: string;
  query: string;
  variables?: Record<string, unknown>;
  /** The cursor to start after (none: the subscription's own start). */
  after?: string | undefined;
  /** graphql-sse's single-connection mode, or distinct connections. */
  singleConnection: boolean;
  /** The feed's partitions (`STREAM_PARTITIONS`), which every cursor covers. Default 1. */
  partitionCount?: number;
  /**
   * How long to wait before subscribing again after the connection ended: doubled after each
   * attempt that received nothing, up to 2 s. Default 200 ms.
   */
  retryDelayMs?: number;
}

/** A client that stays subscribed: it resumes with its last cursor whenever it is cut off. */
export interface Watch {
  /** Events received, each once, in the order they arrived. */
  readonly events: readonly WatchedEvent[];
  /**
   * Events received a second time (same id) or out of order: an entry id not after the last one
   * in its partition, or (for every event) a cursor that goes back in any partition. The server
   * must never send one: these are counted, never delivered twice to `events`.
   */
  readonly duplicates: readonly WatchedEvent[];
  /** How many times it subscribed again after the connection ended. */
  readonly resumes: number;
  /**
   * GraphQL errors that ended the subscription (then resumed), as `CODE: message` with when
   * they came: a slow subscriber being closed, an expired cursor, Redis unreachable, … and
   * `BAD_CURSOR` for an event whose cursor is not one of the feed's partitions.
   */
  readonly errors: ReadonlyArray<{ at: number; error: string }>;
  readonly lastCursor: string | undefined;
  /** The last cursor as a position: per partition, the last entry id delivered from it. */
  readonly lastPosition: FeedPosition | undefined;
  stop(): void;
}

interface SubscriptionResult {
  data?: Record<string, Omit<WatchedEvent, "entryId">> | null;
  errors?: ReadonlyArray<{ message: string; extensions?: { code?: string } }>;
}

/**
 * Subscribes over graphql-sse and keeps the subscription alive across gateway crashes: when the
 * stream ends or fails it subscribes again with `after` set to the cursor of the last event it
 * received, exactly as the API tells clients to resume. Each (re)subscription uses a new client,
 * so a single-connection client's broken connection is never reused.
 */
export function watch(options: WatchOptions): Watch {
  const events: WatchedEvent[] = [];
  const duplicates: WatchedEvent[] = [];
  const errors: Array<{ at: number; error: string }> = [];
  const seenIds = new Set<string>();
  const partitionCount = options.partitionCount ?? 1;
  // A subscription to every event is promised cursors that never go back in any partition; one
  // order's events all live in its partition, so only that one is ordered for it.
  const isWholeFeed = options.variables?.orderId === undefined;
  let lastCursor = options.after;
  let lastPosition: FeedPosition | undefined =
    options.after === undefined ? undefined : parseCursor(options.after, partitionCount);
  let resumes = 0;
  let isStopped = false;
  let endCurrent: () => void = () => {};

  function receive(selected: Omit<WatchedEvent, "entryId">): void {
    const position = parseCursor(selected.cursor, partitionCount);
    const partition = partitionOf(selected.orderId, partitionCount);
    if (!position) {
      errors.push({ at: Date.now(), error: `BAD_CURSOR: ${selected.cursor.slice(0, 100)}` });
      return;
    }
    const event = { ...selected, entryId: position[partition] as string };
    const last = lastPosition;
    const isOutOfOrder =
      last !== undefined &&
      (compareCursors(event.entryId, last[partition] as string) <= 0 ||
        (isWholeFeed &&
          position.some((entryId, index) => compareCursors(entryId, last[index] as string) < 0)));
    if (seenIds.has(event.id) || isOutOfOrder) {
      duplicates.push(event);
      return;
    }
    seenIds.add(event.id);
    events.push(event);
    lastCursor = event.cursor;
    lastPosition = position;
  }

  async function once(): Promise<void> {
    const client = createClient({
      url: options.url,
      singleConnection: options.singleConnection,
      retryAttempts: 0,
    });
    try {
      await new Promise<void>((resolve) => {
        endCurrent = resolve;
        const variables = { ...options.variables, ...(lastCursor ? { after: lastCursor } : {}) };
        const dispose = client.subscribe<Record<string, Omit<WatchedEvent, "entryId">>>(
          { query: options.query, variables },
          {
            next: (raw) => {
              const result = raw as SubscriptionResult;
              for (const error of result.errors ?? []) {
                const code = error.extensions?.code ?? "UNKNOWN";
                errors.push({ at: Date.now(), error: `${code}: ${error.message.slice(0, 100)}` });
              }
              for (const event of Object.values(result.data ?? {})) if (event) receive(event);
            },
            error: () => resolve(),
            complete: () => resolve(),
          },
        );
        endCurrent = () => {
          dispose();
          resolve();
        };
      });
    } finally {
      client.dispose();
    }
  }

  void (async () => {
    const firstDelayMs = options.retryDelayMs ?? 200;
    let delayMs = firstDelayMs;
    while (!isStopped) {
      const receivedBefore = events.length;
      await once().catch(() => {});
      if (isStopped) break;
      resumes += 1;
      delayMs = events.length > receivedBefore ? firstDelayMs : Math.min(2_000, delayMs * 2);
      await sleep(delayMs);
    }
  })();

  return {
    events,
    duplicates,
    errors,
    get resumes() {
      return resumes;
    },
    get lastCursor() {
      return lastCursor;
    },
    get lastPosition() {
      return lastPosition;
    },
    stop() {
      isStopped = true;
      endCurrent();
    },
  };
}
