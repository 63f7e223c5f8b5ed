import type { EventType } from "./event-types.ts";
import { partitionOf } from "./partitions.ts";

/**
 * Every Redis key Conveyor uses, under one prefix, and the Redis Cluster slot rules they follow.
 *
 * Slot rules (a Redis Cluster runs a script or a multi-key command only on keys of one slot;
 * `assertOneSlot` in the runtime checks every script call):
 * - The order pipeline is split into `partitions`, chosen by a stable hash of the order id
 *   (`partitionOf`). Each partition's keys share one hash tag: `{orders}` when there is one
 *   partition (the layout Conveyor always had), `{orders:0}` … `{orders:P-1}` otherwise. A
 *   partition holds the streams of every event type, its dead-letter stream, its feed, the read
 *   model and indexes of its orders, their idempotency keys and, with more than one partition,
 *   their payment and shipment ledgers: everything one atomic step of one order touches.
 * - The catalog (products, stock, reservations, restocks) is one slot, `{catalog}`: a
 *   reservation of several products is one script, all or nothing.
 * - A rate limit's counters are each alone in their slot.
 * An order's keys are found from its id alone (`order(id)`, `charge(id)`…); keys that are not one
 * order's belong to a partition (`partitions[p]`).
 */
export interface Keys {
  readonly prefix: string;
  /** The partitions of the order pipeline; one unless `STREAM_PARTITIONS` says more. */
  readonly partitions: readonly PartitionKeys[];
  /** One partition by its number (throws when there is no such partition). */
  partition(index: number): PartitionKeys;
  /** The partition an order's events and read model live in. */
  forOrder(orderId: string): PartitionKeys;
  /** The read model of one order (hash), its history (list) and its out-of-order events (hash). */
  order(orderId: string): string;
  orderEvents(orderId: string): string;
  orderStash(orderId: string): string;
  /** The payment ledger: one charge per order. */
  charge(orderId: string): string;
  /** The shipment ledger: one shipment per order. */
  shipment(orderId: string): string;
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
}

/** The keys of one partition of the order pipeline, all in one hash slot. */
export interface PartitionKeys {
  /** Its number, from 0. */
  readonly index: number;
  /** The hash tag its keys share, e.g. `{orders:3}`. */
  readonly tag: string;
  /** The stream of one event type. */
  stream(type: EventType): string;
  /** Entries that could not be processed, with the reason. */
  readonly deadLetter: string;
  /** The gateway's ordered feed of projected events; its entry ids make subscription cursors. */
  readonly feed: string;
  /** The last handler error of an entry, kept for the dead-letter reason. */
  failure(stream: string, entryId: string): string;
  /** All order ids of the partition (sorted set, lexicographic = by time), and those in one status. */
  readonly orders: string;
  ordersByStatus(status: string): string;
  /**
   * An idempotency key of placeOrder, scoped to the customer. Its order is created in the
   * partition of the key (see `partitionOfIdempotencyKey`), so both are written in one step.
   */
  idempotency(customerId: string, key: string): string;
}

/** Builds the key layout for a prefix such as `conveyor:`, over `partitionCount` partitions. */
export function createKeys(prefix: string, partitionCount = 1): Keys {
  if (/[{}]/.test(prefix)) throw new Error(`STREAM_PREFIX must not contain braces: ${prefix}`);
  if (!Number.isInteger(partitionCount) || partitionCount < 1 || partitionCount > 1024) {
    throw new Error(`STREAM_PARTITIONS must be an integer from 1 to 1024: ${partitionCount}`);
  }
  const partitions = Array.from({ length: partitionCount }, (_, index) =>
    createPartitionKeys(prefix, index, partitionCount),
  );
  const catalog = `${prefix}{catalog}:`;
  const forOrder = (orderId: string) =>
    partitions[partitionOf(orderId, partitionCount)] as PartitionKeys;
  // One partition keeps the ledgers where they always were; with more, each order's ledger
  // entries spread with its partition instead of loading a single shard.
  const ledger = (name: string, legacyTag: string) => (orderId: string) =>
    `${prefix}${partitionCount === 1 ? legacyTag : forOrder(orderId).tag}:${name}:${orderId}`;
  return {
    prefix,
    partitions,
    partition(index) {
      const found = partitions[index];
      if (!found) throw new RangeError(`no partition ${index} of ${partitionCount}`);
      return found;
    },
    forOrder,
    order: (orderId) => `${prefix}${forOrder(orderId).tag}:order:${orderId}`,
    orderEvents: (orderId) => `${prefix}${forOrder(orderId).tag}:order:${orderId}:events`,
    orderStash: (orderId) => `${prefix}${forOrder(orderId).tag}:order:${orderId}:stash`,
    charge: ledger("charge", "{payments}"),
    shipment: ledger("shipment", "{shipments}"),
    product: (sku) => `${catalog}product:${sku}`,
    skus: `${catalog}skus`,
    stock: `${catalog}stock`,
    reservation: (orderId) => `${catalog}reservation:${orderId}`,
    restock: (idempotencyKey) => `${catalog}restock:${idempotencyKey}`,
    rateLimit: (name) => `${prefix}ratelimit:${name}`,
  };
}

function createPartitionKeys(prefix: string, index: number, count: number): PartitionKeys {
  const tag = count === 1 ? "{orders}" : `{orders:${index}}`;
  const base = `${prefix}${tag}:`;
  return {
    index,
    tag,
    stream: (type) => `${base}${type}`,
    deadLetter: `${base}dead-letter`,
    feed: `${base}feed`,
    failure: (stream, entryId) => `${base}failure:${stream}:${entryId}`,
    orders: `${base}orders`,
    ordersByStatus: (status) => `${base}orders:${status}`,
    idempotency: (customerId, key) => `${base}idempotency:${customerId}:${key}`,
  };
}
