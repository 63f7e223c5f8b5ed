import { hash } from "node:crypto";
import type { PaymentFailureReason } from "@conveyor/contract";

/** One charge, as sent to a card processor. */
export interface ChargeRequest {
  /** The processor charges each key at most once; Conveyor uses the order id. */
  idempotencyKey: string;
  /** The card token (test cards: `tok_visa`, `tok_chargeDeclined`, `tok_insufficientFunds`). */
  token: string;
  amountCents: number;
  currency: string;
}

/** The processor's answer: approved with its payment id, or declined with a reason. */
export type ChargeOutcome =
  | { status: "approved"; paymentId: string }
  | { status: "declined"; reason: PaymentFailureReason; message: string };

/** Something that charges cards. */
export interface CardProcessor {
  charge(request: ChargeRequest): Promise<ChargeOutcome>;
}

/** Options of {@link createSimulatedProcessor}. */
export interface SimulatedProcessorOptions {
  /** How long each charge takes; charges overlap, as calls to a real processor would. */
  latencyMs: number;
}

const DECLINES: Readonly<Record<string, Extract<ChargeOutcome, { status: "declined" }>>> = {
  tok_chargeDeclined: {
    status: "declined",
    reason: "CARD_DECLINED",
    message: "Your card was declined.",
  },
  tok_insufficientFunds: {
    status: "declined",
    reason: "INSUFFICIENT_FUNDS",
    message: "Your card has insufficient funds.",
  },
};

/**
 * Waits `ms`: a plain timer and promise, half the CPU of `timers/promises`' `setTimeout` (which
 * also handles abort signals this never has), paid once per charge.
 */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A card processor that answers like a real one's test mode: `tok_visa` is approved, the test
 * tokens above are declined with their reason, and any other token is `INVALID_TOKEN`. Like a
 * real processor it honours the idempotency key: the same key always yields the same payment id.
 */
export function createSimulatedProcessor(options: SimulatedProcessorOptions): CardProcessor {
  return {
    async charge(request) {
      await sleep(options.latencyMs);
      if (request.token === "tok_visa") {
        // One-shot hash: the same digest as createHash().update().digest(), without a Hash object.
        const digest = hash("sha256", request.idempotencyKey, "hex");
        return { status: "approved", paymentId: `pay_${digest.slice(0, 24)}` };
      }
      return (
        DECLINES[request.token] ?? {
          status: "declined",
          reason: "INVALID_TOKEN",
          message: "The payment token is not a valid card.",
        }
      );
    },
  };
}
