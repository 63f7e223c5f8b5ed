import { describe, expect, it } from "vitest";
import { createSimulatedProcessor } from "./processor.ts";

const request = { idempotencyKey: "order-1", amountCents: 1000, currency: "USD" };

describe("simulated card processor", () => {
  const processor = createSimulatedProcessor({ latencyMs: 0 });

  it("approves tok_visa with a payment id", async () => {
    expect(await processor.charge({ ...request, token: "tok_visa" })).toEqual({
      status: "approved",
      paymentId: expect.stringMatching(/^pay_[0-9a-f]{24}$/),
    });
  });

  it("declines the test cards with their reasons and any other token as invalid", async () => {
    const reasons = await Promise.all(
      ["tok_chargeDeclined", "tok_insufficientFunds", "tok_unknown", "visa"].map(async (token) => {
        const outcome = await processor.charge({ ...request, token });
        return outcome.status === "declined" ? outcome.reason : outcome.status;
      }),
    );
    expect(reasons).toEqual([
      "CARD_DECLINED",
      "INSUFFICIENT_FUNDS",
      "INVALID_TOKEN",
      "INVALID_TOKEN",
    ]);
  });

  it("gives the same payment id to the same idempotency key, and another to another key", async () => {
    const first = await processor.charge({ ...request, token: "tok_visa" });
    const again = await processor.charge({ ...request, token: "tok_visa" });
    const other = await processor.charge({ ...request, token: "tok_visa", idempotencyKey: "o-2" });
    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
  });

  it("takes its latency per charge, with concurrent charges overlapping", async () => {
    const slow = createSimulatedProcessor({ latencyMs: 200 });
    const startedAt = performance.now();
    await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        slow.charge({ ...request, idempotencyKey: `o-${index}`, token: "tok_visa" }),
      ),
    );
    const elapsedMs = performance.now() - startedAt;
    expect(elapsedMs).toBeGreaterThanOrEqual(195);
    expect(elapsedMs).toBeLessThan(20 * 200);
  });
});
