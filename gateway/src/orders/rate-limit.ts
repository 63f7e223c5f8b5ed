import type { Redis } from "ioredis";

/** Counts calls per client in fixed one-minute windows. */
export interface RateLimiter {
  /** Counts one call of `client`; resolves false when it is over its limit for this minute. */
  tryTake(client: string): Promise<boolean>;
}

/** Options of {@link createRateLimiter}. */
export interface RateLimiterOptions {
  redis: Redis;
  /** What is limited, e.g. `placeOrder`: part of the key. */
  name: string;
  /** The key prefix (`STREAM_PREFIX`), so that tenants and tests do not share counts. */
  prefix: string;
  /** Calls per client per minute; 0 = unlimited (and no Redis call at all). */
  limitPerMinute: number;
  /** The clock; tests move it. */
  now?: () => number;
}

const WINDOW_MS = 60_000;

/**
 * A fixed-window limiter counted in Redis (`INCR` of a key per client and minute, which expires
 * after the window), so that every gateway replica shares one count per client: N replicas
 * behind a load balancer still allow `limitPerMinute` calls, not N times as many. Each window's
 * key lives two windows, which covers replicas whose clocks differ by less than a minute.
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { redis, limitPerMinute } = options;
  const now = options.now ?? Date.now;
  return {
    async tryTake(client) {
      if (limitPerMinute === 0) return true;
      const window = Math.floor(now() / WINDOW_MS);
      const key = `${options.prefix}ratelimit:${options.name}:${window}:${client}`;
      const replies = await redis
        .multi()
        .incr(key)
        .pexpire(key, 2 * WINDOW_MS)
        .exec();
      const [error, count] = replies?.[0] ?? [new Error("rate limit count was not answered")];
      if (error) throw error;
      return Number(count) <= limitPerMinute;
    },
  };
}
