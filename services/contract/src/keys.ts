import type { EventType } from "./event-types.ts";

/**
 * Every Redis key Conveyor uses, under one prefix.
 *
 * Keys that one atomic step touches share a Redis Cluster hash tag: the event streams, the
 * dead-letter stream and the per-order read model live under `{orders}` (one partition today;
 * splitting streams by order id means more tags, not new key shapes), the catalog under
 * `{catalog}`, and each external effect's ledger under its own tag.
 */
export interface Keys {
  readonly prefix: string;
  /** The stream of one event type. */
  stream(type: EventType): string;
  /** Entries that could not be processed, with the reason. */
  readonly deadLetter: string;
  /** The gateway's ordered feed of projected events; its entry ids are subscription cursors. */
  readonly feed: string;
  /** The last handler error of an entry, kept for the dead-letter reason. */
  failure(stream: string, entryId: string): string;
  /** The read model of one order (hash), its history (list) and its out-of-order events (hash). */
  order(orderId: string): string;
  orderEvents(orderId: string): string;
  orderStash(orderId: string): string;
  /** All order ids (sorted set, lexicographic = by time), and those in one status. */
  readonly orders: string;
  ordersByStatus(status: string): string;
  /** An idempotency key of placeOrder, scoped to the customer. */
  idempotency(customerId: string, key: string): string;
  /** Products (hash per sku), the sku index, stock levels and reservations, in one slot. */
  product(sku: string): string;
  readonly skus: string;
  readonly stock: string;
  reservation(orderId: string): string;
  /** A restock's idempotency key, holding the sku and quantity it applied. */
  restock(idempotencyKey: string): string;
  /**
   * The key prefix of one rate limit's counters (rate-limiter-flexible's `keyPrefix`, which
   * appends `:<client>:<window>`): one key per client and minute, alone in its slot.
   */
  rateLimit(name: string): string;
  /** The payment ledger: one charge per order. */
  charge(orderId: string): string;
  /** The shipment ledger: one shipment per order. */
  shipment(orderId: string): string;
}

/** Builds the key layout for a prefix such as `conveyor:`. */
export function createKeys(prefix: string): Keys {
  if (/[{}]/.test(prefix)) throw new Error(`STREAM_PREFIX must not contain braces: ${prefix}`);
  const orders = `${prefix}{orders}:`;
  const catalog = `${prefix}{catalog}:`;
  return {
    prefix,
    stream: (type) => `${orders}${type}`,
    deadLetter: `${orders}dead-letter`,
    feed: `${orders}feed`,
    failure: (stream, entryId) => `${orders}failure:${stream}:${entryId}`,
    order: (orderId) => `${orders}order:${orderId}`,
    orderEvents: (orderId) => `${orders}order:${orderId}:events`,
    orderStash: (orderId) => `${orders}order:${orderId}:stash`,
    orders: `${orders}orders`,
    ordersByStatus: (status) => `${orders}orders:${status}`,
    idempotency: (customerId, key) => `${orders}idempotency:${customerId}:${key}`,
    product: (sku) => `${catalog}product:${sku}`,
    skus: `${catalog}skus`,
    stock: `${catalog}stock`,
    reservation: (orderId) => `${catalog}reservation:${orderId}`,
    restock: (idempotencyKey) => `${catalog}restock:${idempotencyKey}`,
    rateLimit: (name) => `${prefix}ratelimit:${name}`,
    charge: (orderId) => `${prefix}{payments}:charge:${orderId}`,
    shipment: (orderId) => `${prefix}{shipments}:shipment:${orderId}`,
  };
}
