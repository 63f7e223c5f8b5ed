import { createStockReserver } from "@conveyor/catalog";
import { NonRetryableError } from "@conveyor/contract";
import type { Handler, Publication, WorkerContext } from "@conveyor/runtime";
import { releaseOrder } from "./release.ts";
import { reserveOrder } from "./reserve.ts";

/** The event types inventory consumes. */
export const INVENTORY_STREAMS = ["order.created", "payment.failed"] as const;

/** Inventory's business logic: reserve stock for new orders, release it for failed payments. */
export function createInventoryHandler(
  context: Pick<WorkerContext, "redis" | "keys">,
): Handler<Publication> {
  const { redis, keys } = context;
  const reserve = createStockReserver(redis, keys);
  return async (event) => {
    switch (event.type) {
      case "order.created":
        return [await reserveOrder(reserve, event)];
      case "payment.failed":
        return [await releaseOrder(redis, keys, event)];
      default:
        throw new NonRetryableError(`inventory does not handle ${event.type} events`);
    }
  };
}
