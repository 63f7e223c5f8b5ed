/** Counts calls per client in fixed one-minute windows. */
export interface RateLimiter {
  /** Counts one call of `client`; false when it is over its limit for this minute. */
  tryTake(client: string): boolean;
}

const WINDOW_MS = 60_000;

/**
 * An in-process limiter of `limitPerMinute` calls per client (0 = unlimited). Per process on
 * purpose: it protects this replica, and needs no Redis round trip on the hot path.
 */
export function createRateLimiter(limitPerMinute: number, now = Date.now): RateLimiter {
  let windowStart = now();
  let counts = new Map<string, number>();
  return {
    tryTake(client) {
      if (limitPerMinute === 0) return true;
      const time = now();
      if (time - windowStart >= WINDOW_MS) {
        windowStart = time;
        counts = new Map();
      }
      const count = (counts.get(client) ?? 0) + 1;
      counts.set(client, count);
      return count <= limitPerMinute;
    },
  };
}
