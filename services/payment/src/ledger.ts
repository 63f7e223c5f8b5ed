import { type Keys, PaymentFailureReason } from "@conveyor/contract";
import type { RedisClient } from "@conveyor/runtime";
import { z } from "zod";
import type { CardProcessor, ChargeRequest } from "./processor.ts";

/** One order's charge as recorded in the ledger: what the processor answered, once. */
export const ChargeRecord = z.discriminatedUnion("status", [
  z.object({
    status: z.literal("approved"),
    paymentId: z.string().min(1),
    amountCents: z.number().int().nonnegative(),
    currency: z.string(),
    chargedAt: z.iso.datetime(),
  }),
  z.object({
    status: z.literal("declined"),
    reason: PaymentFailureReason,
    message: z.string(),
    amountCents: z.number().int().nonnegative(),
    currency: z.string(),
    chargedAt: z.iso.datetime(),
  }),
]);
export type ChargeRecord = z.infer<typeof ChargeRecord>;

function parseRecord(stored: string): ChargeRecord {
  return ChargeRecord.parse(JSON.parse(stored));
}

/** Options of {@link chargeOnce}. */
export interface ChargeOnceOptions {
  /**
   * Whether this is the entry's first delivery: then no earlier delivery can have recorded a
   * charge, and the ledger is not read before charging. Default false (read it first).
   */
  isFirstDelivery?: boolean;
}

/**
 * Charges an order at most once, keyed by the order id (`keys.charge(orderId)`).
 *
 * A redelivered order finds its recorded charge and reuses it without calling the processor.
 * If two deliveries race (a slow consumer's entry claimed by another), both may reach the
 * processor, which charges its idempotency key (the order id) once; the first answer recorded
 * (SET NX) is the one every delivery reports. That SET NX is what makes the result unique, so
 * a first delivery skips the read: at worst it asks the processor again for a charge a racing
 * delivery already recorded, and reports the recorded one.
 */
export async function chargeOnce(
  redis: RedisClient,
  keys: Keys,
  orderId: string,
  processor: CardProcessor,
  request: Omit<ChargeRequest, "idempotencyKey">,
  options: ChargeOnceOptions = {},
): Promise<ChargeRecord> {
  const key = keys.charge(orderId);
  if (!options.isFirstDelivery) {
    const recorded = await redis.get(key);
    if (recorded !== null) return parseRecord(recorded);
  }
  const outcome = await processor.charge({ ...request, idempotencyKey: orderId });
  const record: ChargeRecord = {
    ...outcome,
    amountCents: request.amountCents,
    currency: request.currency,
    chargedAt: new Date().toISOString(),
  };
  const earlier = await redis.set(key, JSON.stringify(record), "NX", "GET");
  return earlier === null ? record : parseRecord(earlier);
}
