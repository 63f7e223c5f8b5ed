import { createEvent, type Keys, NonRetryableError } from "@conveyor/contract";
import type { Handler, Publication, RedisClient } from "@conveyor/runtime";
import { chargeOnce } from "./ledger.ts";
import type { CardProcessor } from "./processor.ts";

/** The event types payment consumes. */
export const PAYMENT_STREAMS = ["inventory.reserved"] as const;

/** What the payment handler is built from. */
export interface PaymentHandlerOptions {
  redis: RedisClient;
  keys: Keys;
  processor: CardProcessor;
}

/**
 * Payment's business logic: charge each reserved order once, then publish `payment.processed`
 * (which carries the items on to shipment) or `payment.failed` (so inventory releases them).
 */
export function createPaymentHandler(options: PaymentHandlerOptions): Handler<Publication> {
  const { redis, keys, processor } = options;
  return async (event, delivery) => {
    if (event.type !== "inventory.reserved") {
      throw new NonRetryableError(`payment does not handle ${event.type} events`);
    }
    const { reservationId, items, totalCents, currency, paymentToken } = event.data;
    const charge = await chargeOnce(
      redis,
      keys,
      event.orderId,
      processor,
      { token: paymentToken, amountCents: totalCents, currency },
      { isFirstDelivery: delivery.deliveryCount === 1 },
    );
    if (charge.status === "approved") {
      return [
        createEvent({
          type: "payment.processed",
          orderId: event.orderId,
          producer: "payment",
          data: {
            paymentId: charge.paymentId,
            reservationId,
            amountCents: charge.amountCents,
            currency: charge.currency,
            items,
          },
        }),
      ];
    }
    return [
      createEvent({
        type: "payment.failed",
        orderId: event.orderId,
        producer: "payment",
        data: {
          reason: charge.reason,
          message: charge.message,
          reservationId,
          amountCents: charge.amountCents,
          currency: charge.currency,
        },
      }),
    ];
  };
}
