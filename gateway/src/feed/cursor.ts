/** A stream entry id as Redis writes it: `<milliseconds>-<sequence>`. */
const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

/** Whether a string is a well-formed stream entry id (and so a valid cursor). */
export function isCursor(value: string): boolean {
  if (!STREAM_ID.test(value)) return false;
  return value.split("-").every((part) => BigInt(part) <= MAX_UINT64);
}

const MAX_UINT64 = 2n ** 64n - 1n;

/**
 * Compares two stream entry ids by their numbers: `"10-0"` comes after `"9-0"`, which a string
 * comparison gets wrong. Negative, zero or positive, like a sort comparator.
 */
export function compareCursors(a: string, b: string): number {
  const aDash = a.indexOf("-");
  const bDash = b.indexOf("-");
  return (
    compareDigits(a.slice(0, aDash), b.slice(0, bDash)) ||
    compareDigits(a.slice(aDash + 1), b.slice(bDash + 1))
  );
}

/** Compares two unsigned decimal numbers of any size, written as digits. */
function compareDigits(a: string, b: string): number {
  // Redis writes no leading zeros: strip them (a regex per call) only when there are some.
  const x = a.length > 1 && a[0] === "0" ? a.replace(/^0+(?=\d)/, "") : a;
  const y = b.length > 1 && b[0] === "0" ? b.replace(/^0+(?=\d)/, "") : b;
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * A position in the feed, which has one stream per partition: per partition, the entry id of
 * the last event delivered from it (`"0-0"` before the first). Shared positions are frozen.
 */
export type FeedPosition = readonly string[];

/** The entry id before every entry of a stream. */
export const NO_ENTRY = "0-0";

/** Between the partitions' entry ids in a cursor (an entry id holds digits and one dash). */
const SEPARATOR = "_";

/** The position before any event, over `partitionCount` partitions. */
export function feedStart(partitionCount: number): FeedPosition {
  return Object.freeze(new Array<string>(partitionCount).fill(NO_ENTRY));
}

/**
 * The cursor of a position: one opaque string that covers every partition, so resuming after it
 * misses and repeats nothing in any of them. With one partition it is the feed entry id itself,
 * as cursors always were; with more, the partitions' entry ids joined by `_`.
 */
export function encodeCursor(position: FeedPosition): string {
  return position.length === 1 ? (position[0] as string) : position.join(SEPARATOR);
}

/** The position a cursor names, or undefined when it is not a cursor of this feed's partitions. */
export function parseCursor(cursor: string, partitionCount: number): FeedPosition | undefined {
  const parts = partitionCount === 1 ? [cursor] : cursor.split(SEPARATOR);
  if (parts.length !== partitionCount || !parts.every(isCursor)) return undefined;
  return Object.freeze(parts);
}

/** A cursor's shape for error messages: `1700000000000-0`, repeated per partition. */
export function cursorExample(partitionCount: number): string {
  return new Array(partitionCount).fill("1700000000000-0").join(SEPARATOR);
}

/** Whether two positions are equal, partition by partition. */
export function isSamePosition(a: FeedPosition, b: FeedPosition): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index += 1) if (a[index] !== b[index]) return false;
  return true;
}

/** The position after one more event: `position` with `partition` moved to `entryId`. */
export function advance(position: FeedPosition, partition: number, entryId: string): FeedPosition {
  const next = position.slice();
  next[partition] = entryId;
  return Object.freeze(next);
}
