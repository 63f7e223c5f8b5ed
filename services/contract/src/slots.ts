/**
 * The part of a key Redis Cluster hashes to pick its slot: the text between the first `{` and
 * the first `}` after it, when that is not empty; otherwise the whole key (the cluster spec's
 * hash tag rule).
 */
export function hashedPartOf(key: string): string {
  const open = key.indexOf("{");
  if (open === -1) return key;
  const close = key.indexOf("}", open + 1);
  if (close === -1 || close === open + 1) return key;
  return key.slice(open + 1, close);
}

/** A script or command was about to touch keys of more than one hash slot. */
export class CrossSlotError extends Error {
  override readonly name = "CrossSlotError";
}

/**
 * Throws unless every key hashes by the same part, and so to one slot: the rule every script
 * and multi-key command of Conveyor follows, checked on every call so that breaking it fails
 * on a single Redis in tests, not only in a cluster in production. Stricter than Redis (two
 * different tags may share a slot by chance), as a key layout should be.
 */
export function assertOneSlot(keys: readonly string[]): void {
  if (keys.length < 2) return;
  const first = hashedPartOf(keys[0] as string);
  for (let index = 1; index < keys.length; index += 1) {
    if (hashedPartOf(keys[index] as string) !== first) {
      throw new CrossSlotError(
        `keys of different hash slots in one atomic step: ${keys[0]} and ${keys[index]}`,
      );
    }
  }
}
