import type { Keys, PartitionKeys } from "@conveyor/contract";
import type { RedisClient } from "@conveyor/runtime";
import { advance, encodeCursor, feedStart } from "../feed/cursor.ts";
import {
  type Order,
  type OrderEvent,
  type OrderStatus,
  orderFromHash,
  parseStoredEvent,
} from "../read-model/records.ts";

/** One page of orders, newest first. */
export interface OrderPage {
  orders: Order[];
  /** The id of the last order on the page: pass it as `after` for the next page. */
  endCursor: string | null;
  hasNextPage: boolean;
  /** Orders in the whole list (of that status, if filtered). */
  totalCount: number;
}

/** Reads the order read model (written by the projector and placeOrder). */
export interface OrderStore {
  get(orderId: string): Promise<Order | undefined>;
  /**
   * The order's events in the order they happened, each with its cursor (with several
   * partitions, one that covers its order's partition only: it resumes that order's events).
   */
  history(orderId: string): Promise<OrderEvent[]>;
  /**
   * Orders newest first (ids are ULIDs), after the order id `after`, optionally of one status
   * and of one customer.
   */
  list(options: {
    first: number;
    after?: string | undefined;
    status?: OrderStatus | undefined;
    customerId?: string | undefined;
  }): Promise<OrderPage>;
}

/**
 * Makes the read side of the order read model. Each partition keeps the index of its orders;
 * a list merges them newest first, and its cursor (an order id, a ULID) is a place in every
 * partition's index at once.
 */
export function createOrderStore(redis: RedisClient, keys: Keys): OrderStore {
  const partitionCount = keys.partitions.length;
  const indexOf = (partition: PartitionKeys, status: OrderStatus | undefined) =>
    status ? partition.ordersByStatus(status) : partition.orders;

  async function getMany(orderIds: readonly string[]): Promise<Order[]> {
    const hashes = await Promise.all(orderIds.map((id) => redis.hgetall(keys.order(id))));
    return hashes.flatMap((hash) => orderFromHash(hash) ?? []);
  }

  /**
   * One customer's page of an index. The read model keeps no index by customer, so this scans
   * the whole index (ids by chunks, each order's customerId by one pipeline per chunk): linear
   * in the number of orders, where an index per customer, kept by the projector and placeOrder,
   * would make it logarithmic.
   */
  async function listOfCustomer(
    status: OrderStatus | undefined,
    customerId: string,
    first: number,
    after: string | undefined,
  ): Promise<OrderPage> {
    const perPartition = await Promise.all(
      keys.partitions.map((partition) => customerIdsIn(indexOf(partition, status), customerId)),
    );
    const matching = newestFirst(perPartition.flat());
    const start = after === undefined ? 0 : matching.findIndex((id) => id < after);
    const rest = start < 0 ? [] : matching.slice(start);
    const pageIds = rest.slice(0, first);
    return {
      orders: await getMany(pageIds),
      endCursor: pageIds.at(-1) ?? null,
      hasNextPage: rest.length > first,
      totalCount: matching.length,
    };
  }

  /** One customer's order ids in one partition's index, newest first. */
  async function customerIdsIn(index: string, customerId: string): Promise<string[]> {
    const chunkSize = 1_000;
    const matching: string[] = [];
    let upper = "+";
    for (;;) {
      const ids = await redis.zrevrangebylex(index, upper, "-", "LIMIT", 0, chunkSize);
      if (ids.length === 0) break;
      // Every order of the chunk is in this partition's slot, as a cluster pipeline requires.
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.hget(keys.order(id), "customerId");
      const owners = (await pipeline.exec()) ?? [];
      ids.forEach((id, i) => {
        if (owners[i]?.[1] === customerId) matching.push(id);
      });
      if (ids.length < chunkSize) break;
      upper = `(${ids.at(-1)}`;
    }
    return matching;
  }

  return {
    async get(orderId) {
      return orderFromHash(await redis.hgetall(keys.order(orderId)));
    },
    async history(orderId) {
      const partition = keys.forOrder(orderId).index;
      const entries = await redis.lrange(keys.orderEvents(orderId), 0, -1);
      const events = entries.map((entry) => parseStoredEvent(entry, partition));
      if (partitionCount > 1) {
        const start = feedStart(partitionCount);
        for (const event of events) {
          event.cursor = encodeCursor(advance(start, partition, event.entryId));
        }
      }
      return events;
    },
    async list({ first, after, status, customerId }) {
      if (customerId !== undefined) return listOfCustomer(status, customerId, first, after);
      // Every member has score 0, so the lexicographic order is the ids' (ULIDs: by time).
      const pages = await Promise.all(
        keys.partitions.map(async (partition) => {
          const index = indexOf(partition, status);
          const [ids, count] = await Promise.all([
            redis.zrevrangebylex(index, after ? `(${after}` : "+", "-", "LIMIT", 0, first + 1),
            redis.zcard(index),
          ]);
          return { ids, count };
        }),
      );
      const ids = newestFirst(pages.flatMap((page) => page.ids)).slice(0, first + 1);
      const totalCount = pages.reduce((sum, page) => sum + page.count, 0);
      const pageIds = ids.slice(0, first);
      return {
        orders: await getMany(pageIds),
        endCursor: pageIds.at(-1) ?? null,
        hasNextPage: ids.length > first,
        totalCount,
      };
    },
  };
}

/** Order ids newest first: ULIDs sort by time as text. */
function newestFirst(ids: string[]): string[] {
  return ids.sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
}
