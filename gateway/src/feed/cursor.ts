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

/** Whether `cursor` comes strictly after `after` (everything does when `after` is undefined). */
export function isAfter(cursor: string, after: string | undefined): boolean {
  return after === undefined || compareCursors(cursor, after) > 0;
}
