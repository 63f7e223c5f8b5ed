import { createEvent, encodeEvent } from "@conveyor/contract";
import { createTestSystem, orderCreated, waitFor } from "@conveyor/testkit";
import { expect, it } from "vitest";
import { startPipeline } from "./support.ts";

it("dead-letters malformed and poison entries with their reason while good orders flow on", async () => {
  const system = createTestSystem("dead-letter");
  const retryFast = { MAX_DELIVERIES: "2", CLAIM_IDLE_MS: "300", CLAIM_INTERVAL_MS: "100" };
  await startPipeline(system, { inventory: retryFast, payment: retryFast, shipment: retryFast });
  const orders = system.keys.partition(0).stream("order.created");
  const addRaw = async (fields: string[]) =>
    (await system.redis.xadd(orders, "*", ...fields)) as string;
  const valid = encodeEvent(orderCreated({ orderId: "dl-template" }));
  const withField = (name: string, value: string | undefined) => {
    const fields: string[] = [];
    for (let i = 0; i < valid.length; i += 2) {
      if (valid[i] !== name) fields.push(valid[i] as string, valid[i + 1] as string);
      else if (value !== undefined) fields.push(name, value);
    }
    return fields;
  };

  await system.publish(orderCreated({ orderId: "dl-good-1" }));
  const badJson = await addRaw(withField("data", "{not json"));
  const noOrderId = await addRaw(withField("orderId", undefined));
  const unknownType = await addRaw(withField("type", "order.exploded"));
  const wrongStream = await addRaw([
    ...encodeEvent(
      createEvent({
        type: "shipment.created",
        orderId: "dl-wrong-stream",
        producer: "shipment",
        data: {
          shipmentId: "s-1",
          carrier: "UPS",
          trackingNumber: "1Z1",
          items: [{ sku: "KB-001", quantity: 1, unitPriceCents: 8999 }],
        },
      }),
    ),
  ]);
  // Poison: state the handler cannot read (a reservation that is not a hash) fails every try.
  await system.redis.set(system.keys.reservation("dl-poison"), "corrupt");
  const poison = await system.publish(orderCreated({ orderId: "dl-poison" }));
  // A payment failure for an order that was never reserved contradicts the pipeline.
  const orphan = await system.publish(
    createEvent({
      type: "payment.failed",
      orderId: "dl-orphan",
      producer: "payment",
      data: {
        reason: "CARD_DECLINED",
        message: "declined",
        reservationId: "rsv_none",
        amountCents: 100,
        currency: "USD",
      },
    }),
  );
  await system.publish(orderCreated({ orderId: "dl-good-2" }));

  const deadLetters = await waitFor("six dead letters", async () => {
    const entries = await system.deadLetters();
    return entries.length >= 6 && entries;
  });
  await waitFor("both good orders shipped", async () => {
    const shipped = await system.events("shipment.created");
    return shipped.length >= 2;
  });

  // Entry ids are unique per stream only: two streams can both have an entry "<ms>-0".
  const byEntry = new Map(deadLetters.map((entry) => [`${entry.stream} ${entry.entryId}`, entry]));
  expect(byEntry.size).toBe(6);
  const deadLetterOf = (entryId: string, stream = orders) => byEntry.get(`${stream} ${entryId}`);
  expect(deadLetterOf(badJson)?.reason).toBe("field data is not valid JSON");
  expect(deadLetterOf(noOrderId)?.reason).toMatch(/^invalid order\.created event: .*orderId/s);
  expect(deadLetterOf(unknownType)?.reason).toBe('unknown event type "order.exploded"');
  expect(deadLetterOf(wrongStream)?.reason).toBe(
    "inventory does not handle shipment.created events",
  );
  expect(deadLetterOf(poison)).toMatchObject({
    reason: "not processed after 2 deliveries",
    deliveries: "3",
    orderId: "dl-poison",
    lastError: expect.stringContaining("WRONGTYPE"),
  });
  expect(deadLetterOf(orphan, system.keys.partition(0).stream("payment.failed"))).toMatchObject({
    reason: expect.stringContaining("payment.failed for order dl-orphan, which has no reservation"),
    stream: system.keys.partition(0).stream("payment.failed"),
  });
  for (const entry of deadLetters) expect(entry.group).toBe("inventory");
  expect(JSON.parse(deadLetterOf(badJson)?.fields ?? "{}")).toMatchObject({ data: "{not json" });

  const shipped = (await system.events("shipment.created")).map((event) => event.orderId).sort();
  expect(shipped).toEqual(["dl-good-1", "dl-good-2"]);
  expect(await system.events("inventory.rejected")).toEqual([]);
  expect(await system.pending("order.created", "inventory")).toBe(0);
  expect(await system.pending("payment.failed", "inventory")).toBe(0);
});
