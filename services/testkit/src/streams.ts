import {
  createEvent,
  decodeEvent,
  type EventEnvelope,
  type EventOf,
  type EventType,
  encodeEvent,
  fieldsToRecord,
  type Keys,
  type OrderLine,
  type PartitionKeys,
} from "@conveyor/contract";
import type { Cluster, Redis } from "ioredis";

/** Adds an event to its stream, as a producer would; resolves the entry id. */
export async function publishEvent(
  redis: Redis | Cluster,
  keys: Keys,
  event: EventEnvelope,
): Promise<string> {
  const stream = keys.forOrder(event.orderId).stream(event.type);
  return (await redis.xadd(stream, "*", ...encodeEvent(event))) as string;
}

/**
 * Every event on one event type's streams (all partitions), oldest first. Throws on an entry
 * that is not a valid event: services must never publish one.
 */
export async function readEvents<T extends EventType>(
  redis: Redis | Cluster,
  keys: Keys,
  type: T,
): Promise<Array<EventOf<T>>> {
  const entries = await allPartitions(keys, (partition) =>
    redis.xrange(partition.stream(type), "-", "+"),
  );
  return entries.map(([entryId, fields]) => {
    const decoded = decodeEvent(fieldsToRecord(fields));
    if (!decoded.ok) throw new Error(`entry ${entryId} of ${type} is invalid: ${decoded.reason}`);
    return decoded.event as EventOf<T>;
  });
}

/** The entries of the dead-letter streams (all partitions), oldest first, as field records. */
export async function readDeadLetters(
  redis: Redis | Cluster,
  keys: Keys,
): Promise<Array<Record<string, string>>> {
  const entries = await allPartitions(keys, (partition) =>
    redis.xrange(partition.deadLetter, "-", "+"),
  );
  return entries.map(([, fields]) => fieldsToRecord(fields));
}

type Entry = [id: string, fields: string[]];

/** The entries one read gives in every partition, merged oldest first (by entry id). */
async function allPartitions(
  keys: Keys,
  read: (partition: PartitionKeys) => Promise<Entry[]>,
): Promise<Entry[]> {
  const entries = (await Promise.all(keys.partitions.map(read))).flat();
  return entries.sort(([a], [b]) => compareEntryIds(a, b));
}

function compareEntryIds(a: string, b: string): number {
  const [aMs, aSeq] = a.split("-").map(BigInt) as [bigint, bigint];
  const [bMs, bSeq] = b.split("-").map(BigInt) as [bigint, bigint];
  return aMs === bMs ? Number(aSeq - bSeq) : aMs < bMs ? -1 : 1;
}

/** How many entries of a stream a group has read but not acknowledged (0 without the group). */
export async function pendingCount(
  redis: Redis | Cluster,
  stream: string,
  group: string,
): Promise<number> {
  try {
    const [count] = (await redis.xpending(stream, group)) as [number, ...unknown[]];
    return Number(count);
  } catch {
    return 0;
  }
}

/** Counts values, e.g. the order ids of a stream's events, to check "exactly once" per order. */
export function countBy<T>(values: readonly T[]): Map<T, number> {
  const counts = new Map<T, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

/** Options of {@link orderCreated}. */
export interface OrderFixture {
  orderId: string;
  /** Default: one unit of `KB-001` at 8,999 cents. */
  items?: OrderLine[];
  /** Default: `tok_visa`. */
  paymentToken?: string;
  customerId?: string;
}

/** An `order.created` event as the gateway publishes it, total computed from the lines. */
export function orderCreated(fixture: OrderFixture): EventOf<"order.created"> {
  const items = fixture.items ?? [{ sku: "KB-001", quantity: 1, unitPriceCents: 8999 }];
  return createEvent({
    type: "order.created",
    orderId: fixture.orderId,
    producer: "gateway",
    data: {
      customerId: fixture.customerId ?? "customer-1",
      items,
      totalCents: items.reduce((sum, line) => sum + line.quantity * line.unitPriceCents, 0),
      currency: "USD",
      paymentToken: fixture.paymentToken ?? "tok_visa",
    },
  });
}
