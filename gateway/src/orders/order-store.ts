import type { Keys } from "@conveyor/contract";
import type { RedisClient } from "@conveyor/runtime";
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
  /** The order's events in the order they happened, each with its feed cursor. */
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

/** Makes the read side of the order read model. */
export function createOrderStore(redis: RedisClient, keys: Keys): OrderStore {
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
    index: string,
    customerId: string,
    first: number,
    after: string | undefined,
  ): Promise<OrderPage> {
    const chunkSize = 1_000;
    const matching: string[] = [];
    let upper = "+";
    for (;;) {
      const ids = await redis.zrevrangebylex(index, upper, "-", "LIMIT", 0, chunkSize);
      if (ids.length === 0) break;
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.hget(keys.order(id), "customerId");
      const owners = (await pipeline.exec()) ?? [];
      ids.forEach((id, i) => {
        if (owners[i]?.[1] === customerId) matching.push(id);
      });
      if (ids.length < chunkSize) break;
      upper = `(${ids.at(-1)}`;
    }
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

  return {
    async get(orderId) {
      return orderFromHash(await redis.hgetall(keys.order(orderId)));
    },
    async history(orderId) {
      const entries = await redis.lrange(keys.orderEvents(orderId), 0, -1);
      return entries.map(parseStoredEvent);
    },
    async list({ first, after, status, customerId }) {
      const index = status ? keys.ordersByStatus(status) : keys.orders;
      if (customerId !== undefined) return listOfCustomer(index, customerId, first, after);
      // Every member has score 0, so the lexicographic order is the ids' (ULIDs: by time).
      const [ids, totalCount] = await Promise.all([
        redis.zrevrangebylex(index, after ? `(${after}` : "+", "-", "LIMIT", 0, first + 1),
        redis.zcard(index),
      ]);
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
