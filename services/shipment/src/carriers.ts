import { createHash, randomInt } from "node:crypto";

/** The carriers Conveyor ships with. */
export const CARRIERS = ["UPS", "FedEx", "DHL", "USPS"] as const;

/** A carrier name. */
export type Carrier = (typeof CARRIERS)[number];

/**
 * The carrier of an order, the same on every replica and every redelivery, spread evenly over
 * {@link CARRIERS}.
 */
export function carrierFor(orderId: string): Carrier {
  const digest = createHash("sha256").update(orderId).digest();
  return CARRIERS[digest.readUInt32BE(0) % CARRIERS.length] as Carrier;
}

function digits(count: number): string {
  return Array.from({ length: count }, () => randomInt(10)).join("");
}

/** A new tracking number in the carrier's own format. */
export function newTrackingNumber(carrier: Carrier): string {
  switch (carrier) {
    case "UPS":
      return `1Z${randomInt(36 ** 6)
        .toString(36)
        .toUpperCase()
        .padStart(6, "0")}${digits(10)}`;
    case "FedEx":
      return digits(12);
    case "DHL":
      return `JD${digits(18)}`;
    case "USPS":
      return `9400${digits(18)}`;
  }
}
