import { randomFillSync } from "node:crypto";
import { monotonicFactory } from "ulid";

/** Random bytes drawn per refill of the pool. */
const POOL_BYTES = 4096;

/**
 * Random fractions in [0, 1) for ULIDs, from a pool of cryptographic random bytes. The `ulid`
 * package's default draws one byte per character through its own system call; a ULID uses one
 * fraction per character (`floor(fraction × 32)`), and a byte / 256 gives all 32 evenly.
 */
function pooledRandomFractions(): () => number {
  const pool = Buffer.alloc(POOL_BYTES);
  let offset = POOL_BYTES;
  return () => {
    if (offset === POOL_BYTES) {
      randomFillSync(pool);
      offset = 0;
    }
    return (pool[offset++] as number) / 256;
  };
}

/**
 * A new order id: a ULID, monotonic within this process (ids made in one millisecond still sort
 * in the order they were made), so `orders` lists newest first by id.
 */
export const nextOrderId: () => string = monotonicFactory(pooledRandomFractions());
