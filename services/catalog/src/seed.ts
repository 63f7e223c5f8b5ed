import type { Keys } from "@conveyor/contract";
import type { RedisClient } from "@conveyor/runtime";
import type { Product } from "./products.ts";

/** The catalog every fresh system starts with (stock is a setting, see {@link seedCatalog}). */
export const SEED_PRODUCTS: readonly Omit<Product, "stock">[] = [
  { sku: "CB-001", name: "USB-C Cable, 2 m", priceCents: 1299, currency: "USD" },
  { sku: "DK-001", name: "Thunderbolt 4 Dock", priceCents: 17999, currency: "USD" },
  { sku: "HD-001", name: "Noise-Cancelling Headphones", priceCents: 19999, currency: "USD" },
  { sku: "KB-001", name: "Mechanical Keyboard", priceCents: 8999, currency: "USD" },
  { sku: "LS-001", name: "Aluminium Laptop Stand", priceCents: 3999, currency: "USD" },
  { sku: "MN-001", name: '27" 4K Monitor', priceCents: 32999, currency: "USD" },
  { sku: "MS-001", name: "Wireless Mouse", priceCents: 2999, currency: "USD" },
  { sku: "WC-001", name: "1080p Webcam", priceCents: 5999, currency: "USD" },
];

/**
 * Seeds the default catalog if missing. Idempotent, and safe for replicas starting together:
 * descriptions are (re)written from {@link SEED_PRODUCTS}, but a product that already has stock
 * keeps it, so a restart never undoes sales or restocks.
 */
export async function seedCatalog(
  redis: RedisClient,
  keys: Keys,
  options: { initialStock: number },
): Promise<void> {
  const { initialStock } = options;
  if (!Number.isSafeInteger(initialStock) || initialStock < 0) {
    throw new RangeError(`initial stock must be a non-negative integer, got ${initialStock}`);
  }
  const transaction = redis.multi();
  for (const product of SEED_PRODUCTS) {
    transaction.hset(keys.product(product.sku), product);
    transaction.hsetnx(keys.stock, product.sku, initialStock);
    transaction.sadd(keys.skus, product.sku);
  }
  const replies = (await transaction.exec()) ?? [];
  const failure = replies.find(([error]) => error)?.[0];
  if (failure) throw failure;
}
