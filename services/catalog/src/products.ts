import type { Keys } from "@conveyor/contract";
import type { RedisClient } from "@conveyor/runtime";
import { defineScript } from "@conveyor/runtime";
import { z } from "zod";

/** A product as sold: price in integer cents. */
export interface Product {
  sku: string;
  name: string;
  priceCents: number;
  currency: string;
  /** Units available to reserve now. */
  stock: number;
}

/** A product's description as stored in its hash (stock lives apart, in the stock hash). */
const StoredProduct = z.object({
  sku: z.string().min(1),
  name: z.string().min(1),
  priceCents: z.coerce.number().int().nonnegative(),
  currency: z.string().length(3),
});

/** The products with these skus (missing skus are absent from the map). */
export async function getProducts(
  redis: RedisClient,
  keys: Keys,
  skus: readonly string[],
): Promise<Map<string, Product>> {
  const unique = [...new Set(skus)];
  const products = new Map<string, Product>();
  if (unique.length === 0) return products;
  // One transaction, so descriptions and stock levels are read at the same instant.
  const transaction = redis.multi();
  for (const sku of unique) transaction.hgetall(keys.product(sku));
  transaction.hmget(keys.stock, ...unique);
  const replies = (await transaction.exec()) ?? [];
  const stockReply = replies.at(-1);
  if (stockReply?.[0]) throw stockReply[0];
  const stockLevels = (stockReply?.[1] ?? []) as Array<string | null>;
  unique.forEach((sku, index) => {
    const [error, hash] = replies[index] ?? [];
    if (error) throw error;
    const stored = StoredProduct.safeParse(hash);
    if (!stored.success) return;
    products.set(sku, { ...stored.data, stock: Number(stockLevels[index] ?? 0) });
  });
  return products;
}

/** Every product, sorted by sku, with live stock. */
export async function listProducts(redis: RedisClient, keys: Keys): Promise<Product[]> {
  const skus = (await redis.smembers(keys.skus)).sort(compareSkus);
  const products = await getProducts(redis, keys, skus);
  return skus.flatMap((sku) => products.get(sku) ?? []);
}

/** Orders skus by code unit, the same on every machine (unlike `localeCompare`). */
function compareSkus(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Adds to stock only if the sku is in the catalog. With an idempotency key (KEYS[3]), a restock
 * is applied once: a retry with the same sku and quantity changes nothing, and the same key
 * with another sku or quantity is refused. Resolves the new stock, -1 for an unknown sku, or -2
 * for a key already used otherwise.
 *
 * KEYS: stock, skus, and optionally the idempotency key. ARGV: sku, quantity, key lifetime ms.
 */
const RESTOCK = `
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then return -1 end
if KEYS[3] then
  local applied = redis.call('GET', KEYS[3])
  if applied then
    if applied ~= ARGV[1] .. '|' .. ARGV[2] then return -2 end
    return tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
  end
  redis.call('SET', KEYS[3], ARGV[1] .. '|' .. ARGV[2], 'PX', ARGV[3])
end
return redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
`;

const restockScript = defineScript<number>(RESTOCK);

/** How long a restock's idempotency key is remembered: a day of retries. */
export const RESTOCK_KEY_TTL_MS = 24 * 60 * 60 * 1000;

/** What a restock did: the product with its new stock, or why nothing was done. */
export type RestockResult =
  | { outcome: "restocked"; product: Product }
  | { outcome: "unknown-sku" }
  | { outcome: "idempotency-conflict" };

/**
 * Adds stock to a product (an operator's action; load tests use it so long runs do not sell
 * out). With an `idempotencyKey`, retrying the same restock adds nothing more.
 */
export async function restock(
  redis: RedisClient,
  keys: Keys,
  sku: string,
  quantity: number,
  options: { idempotencyKey?: string | undefined } = {},
): Promise<RestockResult> {
  if (!Number.isSafeInteger(quantity) || quantity < 1) {
    throw new RangeError(`restock quantity must be a positive integer, got ${quantity}`);
  }
  const scriptKeys = [keys.stock, keys.skus];
  if (options.idempotencyKey !== undefined) scriptKeys.push(keys.restock(options.idempotencyKey));
  const stock = await restockScript.run(redis, scriptKeys, [sku, quantity, RESTOCK_KEY_TTL_MS]);
  if (stock === -2) return { outcome: "idempotency-conflict" };
  const stored = StoredProduct.safeParse(await redis.hgetall(keys.product(sku)));
  if (stock === -1 || !stored.success) return { outcome: "unknown-sku" };
  return { outcome: "restocked", product: { ...stored.data, stock } };
}
