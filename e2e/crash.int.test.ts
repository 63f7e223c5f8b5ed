import { countBy, createTestSystem, orderCreated, waitFor } from "@conveyor/testkit";
import { expect, it } from "vitest";
import { startWorker } from "./support.ts";

it("finishes a SIGKILLed payment's in-flight charges on another replica, charging each order once", async () => {
  const system = createTestSystem("crash");
  await Promise.all([startWorker(system, "inventory"), startWorker(system, "shipment")]);
  const orders = Array.from({ length: 40 }, (_, index) =>
    orderCreated({ orderId: `crash-${index}` }),
  );
  await Promise.all(orders.map((order) => system.publish(order)));
  await waitFor("every order reserved", async () => {
    return (
      (await system.redis.xlen(system.keys.partition(0).stream("inventory.reserved"))) ===
      orders.length
    );
  });

  const slowPayment = { PAYMENT_LATENCY_MS: "500", CLAIM_IDLE_MS: "1000" };
  const doomed = await startWorker(system, "payment", {
    ...slowPayment,
    CONSUMER_NAME: "payment-doomed",
  });
  await waitFor("all reserved orders in flight at the doomed replica", async () => {
    return (await system.pending("inventory.reserved", "payment")) === orders.length;
  });
  await doomed.kill();
  const committedBeforeCrash = await system.redis.xlen(
    system.keys.partition(0).stream("payment.processed"),
  );
  expect(committedBeforeCrash).toBeLessThan(orders.length);

  await startWorker(system, "payment", { ...slowPayment, CONSUMER_NAME: "payment-survivor" });
  const processed = await waitFor("every order paid", async () => {
    const events = await system.events("payment.processed");
    return events.length >= orders.length && events;
  });
  await waitFor("every order shipped", async () => {
    return (
      (await system.redis.xlen(system.keys.partition(0).stream("shipment.created"))) >=
      orders.length
    );
  });

  const paidPerOrder = countBy(processed.map((event) => event.orderId));
  expect(paidPerOrder.size).toBe(orders.length);
  expect([...paidPerOrder.values()].every((count) => count === 1)).toBe(true);
  const shippedPerOrder = countBy((await system.events("shipment.created")).map((e) => e.orderId));
  expect([...shippedPerOrder.values()].every((count) => count === 1)).toBe(true);
  expect(shippedPerOrder.size).toBe(orders.length);
  for (const event of processed) {
    const charge = JSON.parse((await system.redis.get(system.keys.charge(event.orderId))) ?? "");
    expect(charge).toMatchObject({ status: "approved", paymentId: event.data.paymentId });
  }
  expect(await system.pending("inventory.reserved", "payment")).toBe(0);
  expect(await system.deadLetters()).toEqual([]);
});
