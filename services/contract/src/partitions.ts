/**
 * How orders are spread over the partitions of the pipeline: by a stable hash of the order id,
 * so every event of one order goes to one partition (and stays in order), and any process
 * finds an order's partition from its id alone.
 *
 * The hash is 32-bit FNV-1a over the id's UTF-16 code units, then murmur3's 32-bit finalizer:
 * tiny, fast, and the same in any language that wants to read Conveyor's keys. FNV-1a alone
 * spreads badly modulo a power of two (its low bits depend only on the low bits of each
 * character, so keys such as `order-1`, `order-2` … crowd into few partitions); the finalizer
 * mixes every bit into the low ones.
 */
export function partitionOf(id: string, partitionCount: number): number {
  if (partitionCount === 1) return 0;
  let hash = 0x811c9dc5;
  for (let index = 0; index < id.length; index += 1) {
    hash ^= id.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return (hash >>> 0) % partitionCount;
}

/**
 * The partition of the order an idempotency key names. The key and its order are written by one
 * script, so they must share a partition; the key is what a retry knows, so it picks it.
 */
export function partitionOfIdempotencyKey(
  customerId: string,
  key: string,
  partitionCount: number,
): number {
  return partitionOf(`${customerId}\u0000${key}`, partitionCount);
}

/**
 * Draws ids from `nextId` until one falls in `partition` (about `partitionCount` draws). The ids
 * of a monotonic ULID factory still sort by time, so the skipped ones leave no mark.
 */
export function idInPartition(
  nextId: () => string,
  partition: number,
  partitionCount: number,
): string {
  for (;;) {
    const id = nextId();
    if (partitionOf(id, partitionCount) === partition) return id;
  }
}
