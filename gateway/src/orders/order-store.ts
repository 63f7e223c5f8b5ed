import type { Keys } from "@conveyor/contract";
import type { Redis } from "ioredis";
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
  /** Orders newest first (ids are ULIDs), after the order id `after`, optionally of one status. */
  list(options: {
    first: number;
    after?: string | undefined;
    status?: OrderStatus | undefined;
  }): Promise<OrderPage>;
}

/** Makes the read side of the order read model. */
export function createOrderStore(redis: Redis, keys: Keys): OrderStore {
  async function getMany(orderIds: readonly string[]): Promise<Order[]> {
    const hashes = await Promise.all(orderIds.map((id) => redis.hgetall(keys.order(id))));
    return hashes.flatMap((hash) => orderFromHash(hash) ?? []);
  }

  return {
    async get(orderId) {
      return orderFromHash(await redis.hgetall(keys.order(orderId)));
    },
    async history(orderId) {
      const entries = await redis.lrange(keys.orderEvents(orderId), 0, -1);
      return entries.map(parseStoredEvent);
    },
    async list({ first, after, status }) {
      const index = status ? keys.ordersByStatus(status) : keys.orders;
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
