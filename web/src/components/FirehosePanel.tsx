import { useState } from "react";
import { useFeed } from "../client/feed.tsx";
import { compareCursors } from "../lib/cursor.ts";
import { eventMeta } from "../lib/events.ts";
import { formatClock, shortId } from "../lib/format.ts";
import type { OrderEventView } from "../operations.ts";
import { EmptyState, ErrorNote, Panel } from "./ui.tsx";

/** Rows the firehose shows at most (the feed keeps more). */
const SHOWN = 60;

/** Every event of every order as it happens (the `events` subscription), pausable. */
export function FirehosePanel({ onSelectOrder }: { onSelectOrder(orderId: string): void }) {
  const feed = useFeed();
  // While paused the list stays as it was; the feed keeps collecting underneath.
  const [frozen, setFrozen] = useState<readonly OrderEventView[] | undefined>(undefined);
  const isPaused = frozen !== undefined;
  const shown = frozen ?? feed.events;
  const lastShown = frozen?.at(-1)?.cursor;
  const newCount = isPaused
    ? feed.events.filter((event) => !lastShown || compareCursors(event.cursor, lastShown) > 0)
        .length
    : 0;
  const rows = shown.slice(-SHOWN).reverse();

  return (
    <Panel
      id="firehose"
      title="Event firehose"
      subtitle={
        isPaused
          ? `Paused · ${newCount} new ${newCount === 1 ? "event" : "events"} waiting`
          : "Every event on every stream, live"
      }
      actions={
        <button
          type="button"
          className="button-secondary"
          aria-pressed={isPaused}
          onClick={() => setFrozen(isPaused ? undefined : feed.events)}
        >
          <span className="pause-icon" data-paused={isPaused} aria-hidden="true" />
          {isPaused ? "Resume" : "Pause"}
        </button>
      }
    >
      {feed.error ? <ErrorNote message={feed.error} /> : null}
      {rows.length === 0 ? (
        <EmptyState title="Listening…">
          Events show up here the moment a service publishes them.
        </EmptyState>
      ) : (
        <div className="table-scroll firehose-scroll">
          <table className="table firehose-table">
            <caption className="visually-hidden">Recent events, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Event</th>
                <th scope="col">Order</th>
                <th scope="col" className="hide-narrow">
                  Service
                </th>
                <th scope="col" className="hide-narrow numeric">
                  Cursor
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((event) => (
                <tr key={event.cursor} data-tone={eventMeta(event.type).tone}>
                  <td className="mono muted nowrap">
                    <time dateTime={event.occurredAt}>{formatClock(event.occurredAt)}</time>
                  </td>
                  <td>
                    <span className="event-pill" data-tone={eventMeta(event.type).tone}>
                      {event.type}
                    </span>
                  </td>
                  <td>
                    <button
                      type="button"
                      className="row-link mono"
                      title={`Show the journey of order ${event.orderId}`}
                      onClick={() => onSelectOrder(event.orderId)}
                    >
                      {shortId(event.orderId)}
                    </button>
                  </td>
                  <td className="hide-narrow">
                    <span className="service-chip" data-service={event.service}>
                      {event.service}
                    </span>
                  </td>
                  <td className="hide-narrow numeric mono muted small">{event.cursor}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Panel>
  );
}
