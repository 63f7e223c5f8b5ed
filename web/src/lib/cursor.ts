/**
 * Event cursors are Redis stream entry ids (`<milliseconds>-<sequence>`), opaque to the API but
 * ordered. Anything that does not look like one sorts as text, after real cursors.
 */
const CURSOR = /^(\d+)-(\d+)$/;

/** Orders two cursors: negative when `a` comes first, 0 when equal, positive otherwise. */
export function compareCursors(a: string, b: string): number {
  const left = CURSOR.exec(a);
  const right = CURSOR.exec(b);
  if (!left || !right) return left ? -1 : right ? 1 : a < b ? -1 : a > b ? 1 : 0;
  const [, aMs = "0", aSeq = "0"] = left;
  const [, bMs = "0", bSeq = "0"] = right;
  if (aMs.length !== bMs.length) return aMs.length - bMs.length;
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  return Number(aSeq) - Number(bSeq);
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
