import { createEvent, NonRetryableError } from "@conveyor/contract";
import type { Handler, Publication, WorkerContext } from "@conveyor/runtime";
import { createShipmentOnce } from "./ledger.ts";

/** The event types shipment consumes. */
export const SHIPMENT_STREAMS = ["payment.processed"] as const;

/** Shipment's business logic: hand each paid order to a carrier, once. */
export function createShipmentHandler(
  context: Pick<WorkerContext, "redis" | "keys">,
): Handler<Publication> {
  const { redis, keys } = context;
  return async (event) => {
    if (event.type !== "payment.processed") {
      throw new NonRetryableError(`shipment does not handle ${event.type} events`);
    }
    const shipment = await createShipmentOnce(redis, keys, event.orderId);
    return [
      createEvent({
        type: "shipment.created",
        orderId: event.orderId,
        producer: "shipment",
        data: {
          shipmentId: shipment.shipmentId,
          carrier: shipment.carrier,
          trackingNumber: shipment.trackingNumber,
          items: event.data.items,
        },
      }),
    ];
  };
}
