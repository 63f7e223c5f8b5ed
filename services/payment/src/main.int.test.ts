import { fileURLToPath } from "node:url";
import { createEvent, type EventOf } from "@conveyor/contract";
import { countBy, createTestSystem, waitFor } from "@conveyor/testkit";
import { expect, it } from "vitest";

const entry = fileURLToPath(new URL("./main.ts", import.meta.url));
const items = [{ sku: "KB-001", quantity: 2, unitPriceCents: 8999 }];

function reserved(orderId: string, paymentToken = "tok_visa"): EventOf<"inventory.reserved"> {
  return createEvent({
    type: "inventory.reserved",
    orderId,
    producer: "inventory",
    data: {
      reservationId: `rsv_${orderId}`,
      items,
      totalCents: 17998,
      currency: "USD",
      paymentToken,
    },
  });
}

it("charges reserved orders and publishes the outcome of each test card", async () => {
  const system = createTestSystem("payment-main");
  await system.spawn({ name: "payment", entry });
  const cards = ["tok_visa", "tok_chargeDeclined", "tok_insufficientFunds", "tok_expired"];
  for (const [index, token] of cards.entries())
    await system.publish(reserved(`pay-${index}`, token));

  const failed = await waitFor("three payment.failed", async () => {
    const events = await system.events("payment.failed");
    return events.length >= 3 && events;
  });
  const processed = await system.events("payment.processed");
  expect(processed).toHaveLength(1);
  expect(processed[0]?.data).toEqual({
    paymentId: expect.stringMatching(/^pay_/),
    reservationId: "rsv_pay-0",
    amountCents: 17998,
    currency: "USD",
    items,
  });
  expect(Object.fromEntries(failed.map((event) => [event.orderId, event.data]))).toEqual({
    "pay-1": expect.objectContaining({ reason: "CARD_DECLINED", reservationId: "rsv_pay-1" }),
    "pay-2": expect.objectContaining({ reason: "INSUFFICIENT_FUNDS", amountCents: 17998 }),
    "pay-3": expect.objectContaining({ reason: "INVALID_TOKEN", currency: "USD" }),
  });
});

it("drains in-flight charges on SIGTERM: commits each once, exits 0, leaves nothing pending", async () => {
  const system = createTestSystem("payment-drain");
  const payment = await system.spawn({
    name: "payment",
    entry,
    env: { PAYMENT_LATENCY_MS: "500" },
  });
  const orderIds = Array.from({ length: 30 }, (_, index) => `drain-${index}`);
  await Promise.all(orderIds.map((orderId) => system.publish(reserved(orderId))));
  await waitFor("every charge in flight", async () => {
    return (await system.pending("inventory.reserved", "payment")) === orderIds.length;
  });
  const committedBeforeStop = await system.redis.xlen(
    system.keys.partition(0).stream("payment.processed"),
  );

  expect(await payment.stop("SIGTERM")).toBe(0);

  expect(committedBeforeStop).toBeLessThan(orderIds.length);
  const processed = await system.events("payment.processed");
  expect(Object.fromEntries(countBy(processed.map((event) => event.orderId)))).toEqual(
    Object.fromEntries(orderIds.map((orderId) => [orderId, 1])),
  );
  expect(await system.pending("inventory.reserved", "payment")).toBe(0);
});
