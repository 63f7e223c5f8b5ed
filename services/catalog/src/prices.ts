import type { Keys } from "@conveyor/contract";
import type { RedisClient } from "@conveyor/runtime";

/** What one unit of a product costs: integer cents in a currency. */
export interface Price {
  priceCents: number;
  currency: string;
}

const CENTS = /^\d{1,15}$/;

/**
 * The catalog prices of these skus; a sku that is not in the catalog (or whose product hash has
 * no valid price) is absent from the map.
 *
 * Pricing reads no stock, so unlike `getProducts` it needs no `MULTI` to see
 * descriptions and stock at one instant: plain reads issued in one tick share the connection's
 * automatic pipeline, where a transaction costs a socket write of its own.
 */
export async function readPrices(
  redis: RedisClient,
  keys: Keys,
  skus: readonly string[],
): Promise<Map<string, Price>> {
  const unique = [...new Set(skus)];
  const replies = await Promise.all(
    unique.map((sku) => redis.hmget(keys.product(sku), "priceCents", "currency")),
  );
  const prices = new Map<string, Price>();
  unique.forEach((sku, index) => {
    const [cents, currency] = replies[index] ?? [];
    if (!cents || !CENTS.test(cents) || currency?.length !== 3) return;
    prices.set(sku, { priceCents: Number(cents), currency });
  });
  return prices;
}

/** Prices read through a short-lived in-process cache: see {@link createPriceBook}. */
export interface PriceBook {
  /** The prices of these skus, as {@link readPrices} gives them. */
  pricesOf(skus: readonly string[]): Promise<Map<string, Price>>;
}

/** Options of {@link createPriceBook}. */
export interface PriceBookOptions {
  /** How long a price read from Redis is reused. Default 5 s; 0 reads every time. */
  maxAgeMs?: number;
}

/**
 * Prices for placing orders, reused for `maxAgeMs` after they were read: pricing then costs no
 * Redis round trip, so placing an order is one (its script). A price changed in the catalog is
 * charged within `maxAgeMs`, as a shop's price change reaches carts that were already open.
 * Skus the catalog does not know are read again every time, so a product added is sold at once.
 */
export function createPriceBook(
  redis: RedisClient,
  keys: Keys,
  options: PriceBookOptions = {},
): PriceBook {
  const maxAgeMs = options.maxAgeMs ?? 5_000;
  const known = new Map<string, { price: Price; readAtMs: number }>();
  return {
    async pricesOf(skus) {
      const now = performance.now();
      const prices = new Map<string, Price>();
      const missing: string[] = [];
      for (const sku of skus) {
        const cached = known.get(sku);
        if (cached && now - cached.readAtMs < maxAgeMs) prices.set(sku, cached.price);
        else missing.push(sku);
      }
      if (missing.length === 0) return prices;
      for (const [sku, price] of await readPrices(redis, keys, missing)) {
        prices.set(sku, price);
        if (maxAgeMs > 0) known.set(sku, { price, readAtMs: now });
      }
      return prices;
    },
  };
}
