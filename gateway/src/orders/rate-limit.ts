import { closeRedis, type RedisClient } from "@conveyor/runtime";
import { RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";

/** What a rate limiter decided for one call. */
export type RateLimitDecision =
  | { isAllowed: true }
  /** Over the limit: the call was not counted; one more would be allowed in `retryAfterMs`. */
  | { isAllowed: false; retryAfterMs: number };

/** Limits calls per client over a sliding minute, shared by every gateway replica. */
export interface RateLimiter {
  /** Counts one call of `client` if it is within its limit. */
  tryTake(client: string): Promise<RateLimitDecision>;
  /** Closes the limiter's connection. Idempotent. */
  stop(): Promise<void>;
}

/** Options of {@link createRateLimiter}. */
export interface RateLimiterOptions {
  /** Opens the limiter's own connection, without automatic pipelining (see below); it owns it. */
  openConnection: () => RedisClient;
  /** Where the counters live: `keys.rateLimit(name)`, e.g. for `placeOrder`. */
  keyPrefix: string;
  /** Calls per client per minute; 0 = unlimited (and no Redis call at all). */
  limitPerMinute: number;
  /** The clock; tests move it. */
  now?: () => number;
}

const WINDOW_MS = 60_000;

/**
 * A sliding-window limiter on rate-limiter-flexible's Redis counters, so that every gateway
 * replica shares one count per client: N replicas behind a load balancer still allow
 * `limitPerMinute` calls, not N times as many.
 *
 * Each client has one counter per clock minute (rate-limiter-flexible's atomic increment, kept
 * two minutes). A call is allowed while the calls of this minute plus the previous minute's,
 * weighted by how much of it the last 60 s still cover, stay within the limit. A plain fixed
 * window lets a client spend its whole limit at the end of one minute and again at the start of
 * the next (twice the limit in a second); here the previous minute's calls fade out over the
 * new one, so they cannot be spent twice. A refused call is not counted, and the decision says
 * when the next call would pass (`Retry-After`).
 *
 * The limiter uses a connection of its own without auto-pipelining: rate-limiter-flexible
 * loads its script with ioredis's `defineCommand`, whose loading inside an automatic pipeline
 * can misalign replies (redis/ioredis#1931).
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { limitPerMinute: limit } = options;
  const now = options.now ?? Date.now;
  if (limit === 0) return { tryTake: async () => ({ isAllowed: true }), stop: async () => {} };
  const connection = options.openConnection();
  // Commands fail (and reach the caller) while Redis is away; the events need no listener.
  connection.on("error", () => {});
  const counters = new RateLimiterRedis({
    storeClient: connection,
    keyPrefix: options.keyPrefix,
    points: limit,
    // Each minute's counter outlives its minute, so that the next one can weigh it.
    duration: (2 * WINDOW_MS) / 1000,
  });

  /** How long until one more call fits, with `previous` and `current` calls counted. */
  function retryAfterMs(previous: number, current: number, elapsed: number): number {
    if (current + 1 <= limit) {
      const fadedEnough = previous > 0 ? 1 - (limit - current - 1) / previous : 0;
      return Math.max(0, fadedEnough - elapsed) * WINDOW_MS;
    }
    // This minute is full: the next one, once this minute's calls have faded enough.
    const fadedEnough = Math.max(0, 1 - (limit - 1) / current);
    return (1 - elapsed + fadedEnough) * WINDOW_MS;
  }

  let stopping: Promise<void> | undefined;
  return {
    async tryTake(client) {
      const at = now();
      const window = Math.floor(at / WINDOW_MS);
      const elapsed = (at % WINDOW_MS) / WINDOW_MS;
      const key = `${client}:${window}`;
      const [taken, previousCount] = await Promise.all([
        counters.consume(key).catch((refusal: unknown) => {
          // rate-limiter-flexible rejects with its result when the counter went over `points`.
          if (refusal instanceof RateLimiterRes) return refusal;
          throw refusal;
        }),
        counters.get(`${client}:${window - 1}`).then((result) => result?.consumedPoints ?? 0),
      ]);
      const current = taken.consumedPoints;
      if (current <= limit && previousCount * (1 - elapsed) + current <= limit) {
        return { isAllowed: true };
      }
      await counters.reward(key, 1);
      return {
        isAllowed: false,
        retryAfterMs: Math.ceil(retryAfterMs(previousCount, current - 1, elapsed)),
      };
    },
    stop() {
      stopping ??= closeRedis(connection);
      return stopping;
    },
  };
}
