/**
 * Event cursors are opaque to the API but ordered: a Redis stream entry id
 * (`<milliseconds>-<sequence>`) when the feed has one partition, and one entry id per partition
 * joined by `_` when it has more. Anything that looks like neither sorts as text, after real
 * cursors.
 */
const CURSOR = /^\d+-\d+(?:_\d+-\d+)*$/;

/**
 * Where a cursor is along the feed: its partitions' milliseconds summed, then their sequence
 * numbers. Each event moves one partition forward, so along one subscription this only grows.
 */
function rankOf(cursor: string): [number, number] {
  let milliseconds = 0;
  let sequence = 0;
  for (const entryId of cursor.split("_")) {
    const [ms = "0", seq = "0"] = entryId.split("-");
    milliseconds += Number(ms);
    sequence += Number(seq);
  }
  return [milliseconds, sequence];
}

/** Orders two cursors: negative when `a` comes first, 0 when equal, positive otherwise. */
export function compareCursors(a: string, b: string): number {
  const isCursorA = CURSOR.test(a);
  const isCursorB = CURSOR.test(b);
  if (!isCursorA || !isCursorB) return isCursorA ? -1 : isCursorB ? 1 : a < b ? -1 : a > b ? 1 : 0;
  if (a === b) return 0;
  const [aMs, aSeq] = rankOf(a);
  const [bMs, bSeq] = rankOf(b);
  return aMs !== bMs ? aMs - bMs : aSeq - bSeq;
}

/** Anything with the position of the event it stands for. */
export interface HasCursor {
  readonly cursor: string;
}

/**
 * Adds events to a log kept in cursor order, each cursor at most once: a replay after a
 * reconnect, a StrictMode double subscription or an overlapping history page adds nothing.
 * Keeps the newest `limit` events. Returns the same array when nothing was added, so that
 * React skips the render.
 */
export function mergeByCursor<T extends HasCursor>(
  log: readonly T[],
  incoming: readonly T[],
  limit = Number.POSITIVE_INFINITY,
): readonly T[] {
  let merged: T[] | undefined;
  for (const event of incoming) {
    const current = merged ?? log;
    const last = current.at(-1);
    if (!last || compareCursors(last.cursor, event.cursor) < 0) {
      merged ??= [...log];
      merged.push(event);
      continue;
    }
    // Out of order (rare): insert in place unless the cursor is already there.
    const index = current.findIndex(
      (existing) => compareCursors(existing.cursor, event.cursor) >= 0,
    );
    if (index !== -1 && current[index]?.cursor === event.cursor) continue;
    merged ??= [...log];
    merged.splice(index === -1 ? merged.length : index, 0, event);
  }
  if (!merged) return log;
  return merged.length > limit ? merged.slice(merged.length - limit) : merged;
}
