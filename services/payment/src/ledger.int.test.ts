import { createKeys, type Keys } from "@conveyor/contract";
import { uniquePrefix } from "@conveyor/testkit";
import { Redis } from "ioredis";
import { afterAll, beforeEach, describe, expect, inject, it } from "vitest";
import { chargeOnce } from "./ledger.ts";
import { type CardProcessor, createSimulatedProcessor } from "./processor.ts";

const redisUrl = inject("redisUrl");
const redis = new Redis(redisUrl);
afterAll(() => redis.quit());

/** The simulated processor, counting the charges that reach it. */
function countingProcessor(latencyMs = 0): CardProcessor & { calls: number } {
  const inner = createSimulatedProcessor({ latencyMs });
  const counter = {
    calls: 0,
    charge(request: Parameters<CardProcessor["charge"]>[0]) {
      counter.calls += 1;
      return inner.charge(request);
    },
  };
  return counter;
}

let keys: Keys;
beforeEach(() => {
  keys = createKeys(uniquePrefix("ledger"));
});

describe("chargeOnce", () => {
  it("records an approved charge and reuses it on redelivery without charging again", async () => {
    const processor = countingProcessor();
    const request = { token: "tok_visa", amountCents: 4200, currency: "USD" };
    const first = await chargeOnce(redis, keys, "o-1", processor, request);
    const again = await chargeOnce(redis, keys, "o-1", processor, request);
    expect(first).toEqual({
      status: "approved",
      paymentId: expect.stringMatching(/^pay_/),
      amountCents: 4200,
      currency: "USD",
      chargedAt: expect.any(String),
    });
    expect(again).toEqual(first);
    expect(processor.calls).toBe(1);
    expect(JSON.parse((await redis.get(keys.charge("o-1"))) ?? "")).toEqual(first);
  });

  it("records a decline and reports it again on redelivery", async () => {
    const processor = countingProcessor();
    const request = { token: "tok_insufficientFunds", amountCents: 100, currency: "USD" };
    const first = await chargeOnce(redis, keys, "o-1", processor, request);
    expect(first).toMatchObject({ status: "declined", reason: "INSUFFICIENT_FUNDS" });
    expect(await chargeOnce(redis, keys, "o-1", processor, request)).toEqual(first);
    expect(processor.calls).toBe(1);
  });

  it("has every racing delivery of one order report the first recorded charge", async () => {
    const connections = Array.from({ length: 4 }, () => new Redis(redisUrl));
    try {
      const processor = countingProcessor(20);
      const results = await Promise.all(
        connections.map((connection) =>
          chargeOnce(connection, keys, "o-1", processor, {
            token: "tok_visa",
            amountCents: 100,
            currency: "USD",
          }),
        ),
      );
      const recorded = JSON.parse((await redis.get(keys.charge("o-1"))) ?? "");
      for (const record of results) expect(record).toEqual(recorded);
    } finally {
      await Promise.all(connections.map((connection) => connection.quit()));
    }
  });

  it("on a first delivery, charges without reading the ledger yet reports a charge recorded meanwhile", async () => {
    const processor = countingProcessor();
    const request = { token: "tok_visa", amountCents: 700, currency: "USD" };
    const fresh = await chargeOnce(redis, keys, "o-new", processor, request, {
      isFirstDelivery: true,
    });
    expect(fresh).toMatchObject({ status: "approved", amountCents: 700 });
    expect(processor.calls).toBe(1);
    // A racing, claimed copy recorded its charge before this first delivery got its turn.
    const recorded = await chargeOnce(redis, keys, "o-raced", processor, request);
    const late = await chargeOnce(redis, keys, "o-raced", processor, request, {
      isFirstDelivery: true,
    });
    expect(late).toEqual(recorded);
    expect(processor.calls).toBe(3);
  });

  it("keeps orders apart", async () => {
    const processor = countingProcessor();
    const a = await chargeOnce(redis, keys, "o-a", processor, {
      token: "tok_visa",
      amountCents: 1,
      currency: "USD",
    });
    const b = await chargeOnce(redis, keys, "o-b", processor, {
      token: "tok_chargeDeclined",
      amountCents: 2,
      currency: "USD",
    });
    expect(a.status).toBe("approved");
    expect(b.status).toBe("declined");
    expect(processor.calls).toBe(2);
  });
});
