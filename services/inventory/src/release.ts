import { releaseStock } from "@conveyor/catalog";
import { createEvent, type EventOf, type Keys, NonRetryableError } from "@conveyor/contract";
import type { RedisClient } from "@conveyor/runtime";

/**
 * Puts back the stock of an order whose payment failed, once, and resolves
 * `inventory.released`. A redelivered `payment.failed` finds the reservation already released
 * and resolves the same event without restocking again (its first commit never happened, or the
 * runtime's ack gate drops the duplicate).
 */
export async function releaseOrder(
  redis: RedisClient,
  keys: Keys,
  failed: EventOf<"payment.failed">,
): Promise<EventOf<"inventory.released">> {
  const result = await releaseStock(redis, keys, failed.orderId);
  if (result.status === "not-reserved") {
    // A payment can only fail for a reserved order: this event contradicts the pipeline, and
    // retrying cannot fix it.
    throw new NonRetryableError(
      `payment.failed for order ${failed.orderId}, which has no reservation (${result.reservation})`,
    );
  }
  return createEvent({
    type: "inventory.released",
    orderId: failed.orderId,
    producer: "inventory",
    data: {
      reservationId: result.reservationId,
      reason: failed.data.reason,
      items: result.items,
    },
  });
}
