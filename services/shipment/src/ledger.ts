import { randomUUID } from "node:crypto";
import type { Keys } from "@conveyor/contract";
import type { RedisClient } from "@conveyor/runtime";
import { z } from "zod";
import { carrierFor, newTrackingNumber } from "./carriers.ts";

/** One order's shipment as recorded in the ledger. */
export const ShipmentRecord = z.object({
  shipmentId: z.string().min(1),
  carrier: z.string().min(1),
  trackingNumber: z.string().min(1),
  createdAt: z.iso.datetime(),
});
export type ShipmentRecord = z.infer<typeof ShipmentRecord>;

/**
 * Creates an order's shipment at most once, keyed by the order id (`keys.shipment(orderId)`):
 * the first record written (SET NX) wins, and a redelivery or a racing replica gets that same
 * shipment back instead of booking a second one.
 */
export async function createShipmentOnce(
  redis: RedisClient,
  keys: Keys,
  orderId: string,
): Promise<ShipmentRecord> {
  const carrier = carrierFor(orderId);
  const record: ShipmentRecord = {
    shipmentId: `shp_${randomUUID()}`,
    carrier,
    trackingNumber: newTrackingNumber(carrier),
    createdAt: new Date().toISOString(),
  };
  const earlier = await redis.set(keys.shipment(orderId), JSON.stringify(record), "NX", "GET");
  return earlier === null ? record : ShipmentRecord.parse(JSON.parse(earlier));
}
