import type { RejectedLine, StockReserver } from "@conveyor/catalog";
import { createEvent, type EventOf, type RejectionReason } from "@conveyor/contract";

/**
 * Reserves the stock of a new order: every line or none. Resolves `inventory.reserved` (with
 * what payment needs to charge) or `inventory.rejected` (with the lines that could not be
 * filled). A redelivered order gets the first decision again, never a second reservation.
 */
export async function reserveOrder(
  reserve: StockReserver,
  order: EventOf<"order.created">,
): Promise<EventOf<"inventory.reserved"> | EventOf<"inventory.rejected">> {
  const result = await reserve(order.orderId, order.data.items);
  if (result.status === "reserved") {
    return createEvent({
      type: "inventory.reserved",
      orderId: order.orderId,
      producer: "inventory",
      data: {
        reservationId: result.reservationId,
        items: order.data.items,
        totalCents: order.data.totalCents,
        currency: order.data.currency,
        paymentToken: order.data.paymentToken,
      },
    });
  }
  return createEvent({
    type: "inventory.rejected",
    orderId: order.orderId,
    producer: "inventory",
    data: {
      reason: result.reason,
      message: describeRejection(result.reason, result.lines),
      lines: result.lines,
    },
  });
}

/** A message a customer can read, naming each line that could not be filled. */
export function describeRejection(reason: RejectionReason, lines: readonly RejectedLine[]): string {
  if (reason === "UNKNOWN_SKU") {
    return `Unknown product: ${lines.map((line) => line.sku).join(", ")}`;
  }
  const details = lines.map(
    (line) => `${line.sku} (requested ${line.requested}, available ${line.available ?? 0})`,
  );
  return `Not enough stock for ${details.join(", ")}`;
}
