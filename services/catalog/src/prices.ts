import type { Keys } from "@conveyor/contract";
import type { Redis } from "ioredis";

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
  redis: Redis,
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
