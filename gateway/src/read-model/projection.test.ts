import { describe, expect, it } from "vitest";
import { eventsOf } from "../testing/events.ts";
import { projectionOf } from "./projection.ts";
import { traceIdOf } from "./records.ts";

describe("projection", () => {
  it("maps each event type to the order's status and step", () => {
    const events = eventsOf("o1");
    const table = [
      events.created(),
      events.reserved(),
      events.rejected(),
      events.processed(),
      events.failed(),
      events.released(),
      events.shipped(),
    ].map((event) => {
      const projection = projectionOf(event);
      return [event.type, projection.step, projection.status];
    });
    expect(table).toEqual([
      ["order.created", "1", "PENDING"],
      ["inventory.reserved", "2", "RESERVED"],
      ["inventory.rejected", "2", "REJECTED"],
      ["payment.processed", "3", "PAID"],
      ["payment.failed", "3", "RESERVED"],
      ["inventory.released", "4", "CANCELLED"],
      ["shipment.created", "4", "SHIPPED"],
    ]);
  });

  it("keeps only strings, so the script can stash it as JSON unchanged", () => {
    const projection = projectionOf(eventsOf("o1").created());
    expect(Object.values(projection).every((value) => typeof value === "string")).toBe(true);
    expect(JSON.parse(projection.record)).toMatchObject({
      type: "order.created",
      service: "gateway",
    });
  });

  it("reads the trace id from a W3C traceparent", () => {
    expect(traceIdOf("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")).toBe(
      "0af7651916cd43dd8448eb211c80319c",
    );
    expect(traceIdOf("00-00000000000000000000000000000000-b7ad6b7169203331-01")).toBeNull();
    expect(traceIdOf("garbage")).toBeNull();
    expect(traceIdOf(undefined)).toBeNull();
  });
});
