import { countBy, orderCreated, type TestSystem, waitFor } from "@conveyor/testkit";
import { expect } from "vitest";
import { startWorker, stockOf } from "../support.ts";

/**
 * Races 200 orders for the last 20 units across two inventory processes and checks that exactly
 * 20 are reserved, each order decided once, the stock never below zero and every unit accounted
 * for. On a one-partition system or on a cluster with several (the catalog is one slot either way).
 */
export async function expectNoOversell(system: TestSystem): Promise<void> {
  const settings = { CATALOG_INITIAL_STOCK: "20", BATCH_SIZE: "10" };
  await Promise.all([
    startWorker(system, "inventory", { ...settings, CONSUMER_NAME: "inventory-a" }),
    startWorker(system, "inventory", { ...settings, CONSUMER_NAME: "inventory-b" }),
  ]);
  const orders = Array.from({ length: 200 }, (_, index) =>
    orderCreated({
      orderId: `oversell-${index}`,
      items: [{ sku: "DK-001", quantity: 1, unitPriceCents: 17999 }],
    }),
  );
  await Promise.all(orders.map((order) => system.publish(order)));

  let lowestStock = Number.POSITIVE_INFINITY;
  await waitFor("a decision for every order", async () => {
    const [stock = Number.NaN] = await stockOf(system, "DK-001");
    lowestStock = Math.min(lowestStock, stock);
    const decided =
      (await system.events("inventory.reserved")).length +
      (await system.events("inventory.rejected")).length;
    return decided >= orders.length;
  });

  const reserved = await system.events("inventory.reserved");
  const rejected = await system.events("inventory.rejected");
  expect(reserved).toHaveLength(20);
  expect(rejected).toHaveLength(180);
  const decisions = countBy([...reserved, ...rejected].map((event) => event.orderId));
  expect(decisions.size).toBe(200);
  expect([...decisions.values()].every((count) => count === 1)).toBe(true);
  for (const event of rejected) {
    expect(event.data.reason).toBe("INSUFFICIENT_STOCK");
    expect(event.data.lines).toEqual([{ sku: "DK-001", requested: 1, available: 0 }]);
  }

  const [stock] = await stockOf(system, "DK-001");
  expect(stock).toBe(0);
  expect(lowestStock).toBeGreaterThanOrEqual(0);
  let unitsHeld = 0;
  for (const event of reserved) {
    const record = await system.redis.hgetall(system.keys.reservation(event.orderId));
    expect(record).toMatchObject({ status: "reserved", reservationId: event.data.reservationId });
    unitsHeld += JSON.parse(record.items ?? "[]")[0].quantity;
  }
  expect(unitsHeld + (stock ?? 0)).toBe(20);

  for (const partition of system.keys.partitions) {
    const consumers = (await system.redis.xinfo(
      "CONSUMERS",
      partition.stream("order.created"),
      "inventory",
    )) as unknown[];
    expect(consumers).toHaveLength(2);
  }
  expect(await system.pending("order.created", "inventory")).toBe(0);
}
