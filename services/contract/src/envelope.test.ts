import { describe, expect, it } from "vitest";
import { createEvent, decodeEvent, encodeEvent, fieldsToRecord } from "./envelope.ts";
import { createKeys } from "./keys.ts";

const shipment = createEvent({
  type: "shipment.created",
  orderId: "01HORDER",
  producer: "shipment",
  data: {
    shipmentId: "s-1",
    carrier: "UPS",
    trackingNumber: "1Z999",
    items: [{ sku: "KB-001", quantity: 2, unitPriceCents: 4999 }],
  },
  traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
});

describe("event envelope", () => {
  it("round-trips an event through flat stream fields", () => {
    expect(decodeEvent(fieldsToRecord(encodeEvent(shipment)))).toEqual({
      ok: true,
      event: shipment,
    });
  });

  it("gives time-ordered ids to events created in sequence", () => {
    const ids = Array.from(
      { length: 50 },
      () => createEvent({ ...shipment, type: "shipment.created" }).id,
    );
    expect([...ids].sort()).toEqual(ids);
  });

  it("rejects data that is not JSON, an unknown type, and a payload of the wrong shape", () => {
    const fields = fieldsToRecord(encodeEvent(shipment));
    expect(decodeEvent({ ...fields, data: "{" })).toEqual({
      ok: false,
      reason: "field data is not valid JSON",
    });
    expect(decodeEvent({ ...fields, type: "shipment.lost" })).toEqual({
      ok: false,
      reason: 'unknown event type "shipment.lost"',
    });
    const wrong = decodeEvent({ ...fields, data: JSON.stringify({ shipmentId: 7 }) });
    expect(wrong.ok).toBe(false);
    expect(!wrong.ok && wrong.reason).toMatch(/invalid shipment.created event: .*shipmentId/s);
  });

  it("rejects an envelope of another schema version", () => {
    const decoded = decodeEvent({ ...fieldsToRecord(encodeEvent(shipment)), version: "2" });
    expect(decoded.ok).toBe(false);
  });

  it("keeps the first value of a repeated field", () => {
    expect(fieldsToRecord(["type", "a", "type", "b"])).toEqual({ type: "a" });
  });
});

describe("key layout", () => {
  it("puts streams and order state in one hash slot and the catalog in another", () => {
    const keys = createKeys("conveyor:");
    expect(keys.partition(0).stream("order.created")).toBe("conveyor:{orders}:order.created");
    expect(keys.order("o1")).toBe("conveyor:{orders}:order:o1");
    expect(keys.stock).toBe("conveyor:{catalog}:stock");
  });

  it("refuses a prefix with braces, which would break hash tags", () => {
    expect(() => createKeys("a{b}:")).toThrow(/braces/);
  });
});
