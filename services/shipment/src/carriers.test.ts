import { describe, expect, it } from "vitest";
import { CARRIERS, carrierFor, newTrackingNumber } from "./carriers.ts";

describe("carriers", () => {
  it("picks the same carrier for an order every time", () => {
    for (const orderId of ["01HX", "order-1", "o-42"]) {
      expect(carrierFor(orderId)).toBe(carrierFor(orderId));
    }
  });

  it("spreads orders over every carrier", () => {
    const used = new Set(Array.from({ length: 200 }, (_, index) => carrierFor(`order-${index}`)));
    expect([...used].sort()).toEqual([...CARRIERS].sort());
  });

  it("makes tracking numbers in each carrier's format, different each time", () => {
    expect(newTrackingNumber("UPS")).toMatch(/^1Z[0-9A-Z]{6}\d{10}$/);
    expect(newTrackingNumber("FedEx")).toMatch(/^\d{12}$/);
    expect(newTrackingNumber("DHL")).toMatch(/^JD\d{18}$/);
    expect(newTrackingNumber("USPS")).toMatch(/^9400\d{18}$/);
    expect(newTrackingNumber("USPS")).not.toBe(newTrackingNumber("USPS"));
  });
});
