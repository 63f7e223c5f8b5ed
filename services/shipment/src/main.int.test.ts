import { fileURLToPath } from "node:url";
import { createEvent, type EventOf } from "@conveyor/contract";
import { createTestSystem, waitFor } from "@conveyor/testkit";
import { expect, it } from "vitest";

const entry = fileURLToPath(new URL("./main.ts", import.meta.url));
const items = [
  { sku: "LS-001", quantity: 1, unitPriceCents: 3999 },
  { sku: "CB-001", quantity: 3, unitPriceCents: 1299 },
];

function paid(orderId: string): EventOf<"payment.processed"> {
  return createEvent({
    type: "payment.processed",
    orderId,
    producer: "payment",
    data: {
      paymentId: `pay_${orderId}`,
      reservationId: `rsv_${orderId}`,
      amountCents: 7896,
      currency: "USD",
      items,
    },
  });
}

async function waitForShipments(system: ReturnType<typeof createTestSystem>, count: number) {
  return waitFor(`${count} shipment.created`, async () => {
    const events = await system.events("shipment.created");
    return events.length >= count && events;
  });
}

it("ships a paid order with its items, carrier and tracking number", async () => {
  const system = createTestSystem("shipment-main");
  await system.spawn({ name: "shipment", entry });
  await system.publish(paid("ship-1"));
  const [shipped] = await waitForShipments(system, 1);
  expect(shipped).toMatchObject({ orderId: "ship-1", producer: "shipment" });
  const booking = JSON.parse((await system.redis.get(system.keys.shipment("ship-1"))) ?? "");
  expect(shipped?.data).toEqual({
    shipmentId: booking.shipmentId,
    carrier: booking.carrier,
    trackingNumber: booking.trackingNumber,
    items,
  });
});

it("recreates its consumer group when its input stream is deleted, and keeps shipping", async () => {
  const system = createTestSystem("shipment-nogroup");
  const shipment = await system.spawn({ name: "shipment", entry, env: { BLOCK_MS: "200" } });
  await system.publish(paid("before-delete"));
  await waitForShipments(system, 1);

  await system.redis.del(system.keys.partition(0).stream("payment.processed"));
  await system.publish(paid("after-delete"));

  const shipped = await waitForShipments(system, 2);
  expect(shipped.map((event) => event.orderId)).toEqual(["before-delete", "after-delete"]);
  await waitFor("ready again", async () => {
    const response = await fetch(`http://127.0.0.1:${shipment.healthPort}/readyz`);
    return response.status === 200;
  });
  expect(await system.pending("payment.processed", "shipment")).toBe(0);
});
