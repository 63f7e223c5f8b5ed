import { randomInt } from "node:crypto";

/** The carriers Conveyor ships with. */
export const CARRIERS = ["UPS", "FedEx", "DHL", "USPS"] as const;

/** A carrier name. */
export type Carrier = (typeof CARRIERS)[number];

/**
 * The carrier of an order, the same on every replica and every redelivery, spread evenly over
 * {@link CARRIERS}. A 32-bit FNV-1a hash of the order id, finished with murmur3's mixer so that
 * ids differing only in their last characters spread too: it needs to spread, not to be secret.
 */
export function carrierFor(orderId: string): Carrier {
  let hash = 0x811c9dc5;
  for (let index = 0; index < orderId.length; index += 1) {
    hash = Math.imul(hash ^ orderId.charCodeAt(index), 0x01000193);
  }
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return CARRIERS[((hash ^ (hash >>> 16)) >>> 0) % CARRIERS.length] as Carrier;
}

/** `count` random decimal digits, from one random draw per 12 digits (`randomInt` < 2^48). */
function digits(count: number): string {
  let text = "";
  for (let left = count; left > 0; left -= 12) {
    const chunk = Math.min(left, 12);
    text += String(randomInt(10 ** chunk)).padStart(chunk, "0");
  }
  return text;
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
