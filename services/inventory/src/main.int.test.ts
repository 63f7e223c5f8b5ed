import { fileURLToPath } from "node:url";
import { getProducts } from "@conveyor/catalog";
import { createEvent } from "@conveyor/contract";
import { createTestSystem, orderCreated, waitFor } from "@conveyor/testkit";
import { expect, it } from "vitest";

const entry = fileURLToPath(new URL("./main.ts", import.meta.url));

it("seeds the catalog with CATALOG_INITIAL_STOCK, reserves orders and releases failed payments", async () => {
  const system = createTestSystem("inventory-main");
  await system.spawn({ name: "inventory", entry, env: { CATALOG_INITIAL_STOCK: "7" } });
  const stock = async () =>
    (await getProducts(system.redis, system.keys, ["WC-001"])).get("WC-001");
  expect(await stock()).toMatchObject({ sku: "WC-001", stock: 7 });

  await system.publish(
    orderCreated({
      orderId: "inv-1",
      items: [{ sku: "WC-001", quantity: 5, unitPriceCents: 5999 }],
    }),
  );
  const [reserved] = await waitFor("inventory.reserved", async () => {
    const events = await system.events("inventory.reserved");
    return events.length > 0 && events;
  });
  expect(reserved?.data.items).toEqual([{ sku: "WC-001", quantity: 5, unitPriceCents: 5999 }]);
  expect(await stock()).toMatchObject({ stock: 2 });

  await system.publish(
    createEvent({
      type: "payment.failed",
      orderId: "inv-1",
      producer: "payment",
      data: {
        reason: "INSUFFICIENT_FUNDS",
        message: "no funds",
        reservationId: reserved?.data.reservationId ?? "",
        amountCents: 29995,
        currency: "USD",
      },
    }),
  );
  const [released] = await waitFor("inventory.released", async () => {
    const events = await system.events("inventory.released");
    return events.length > 0 && events;
  });
  expect(released?.data).toEqual({
    reservationId: reserved?.data.reservationId,
    reason: "INSUFFICIENT_FUNDS",
    items: reserved?.data.items,
  });
  expect(await stock()).toMatchObject({ stock: 7 });
  expect(await system.pending("order.created", "inventory")).toBe(0);
  expect(await system.pending("payment.failed", "inventory")).toBe(0);
});

it("keeps the stock it finds when restarted with another CATALOG_INITIAL_STOCK", async () => {
  const system = createTestSystem("inventory-restart");
  const first = await system.spawn({
    name: "inventory",
    entry,
    env: { CATALOG_INITIAL_STOCK: "3" },
  });
  expect(await first.stop()).toBe(0);
  await system.spawn({ name: "inventory", entry, env: { CATALOG_INITIAL_STOCK: "900" } });
  const products = await getProducts(system.redis, system.keys, ["KB-001"]);
  expect(products.get("KB-001")?.stock).toBe(3);
});
