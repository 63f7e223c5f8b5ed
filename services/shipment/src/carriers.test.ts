import { describe, expect, it } from "vitest";
import { CARRIERS, carrierFor, newTrackingNumber } from "./carriers.ts";

describe("carriers", () => {
  it("picks the same carrier for an order every time", () => {
    for (const orderId of ["01HX", "order-1", "o-42"]) {
      expect(carrierFor(orderId)).toBe(carrierFor(orderId));
    }
  });

  it("spreads orders evenly over every carrier", () => {
    const counts = new Map<string, number>();
    for (let index = 0; index < 4_000; index += 1) {
      const carrier = carrierFor(`01KB${index.toString(36).toUpperCase().padStart(22, "0")}`);
      counts.set(carrier, (counts.get(carrier) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([...CARRIERS].sort());
    for (const count of counts.values()) expect(count).toBeGreaterThan(800);
  });

  it("makes tracking numbers in each carrier's format, different each time", () => {
    expect(newTrackingNumber("UPS")).toMatch(/^1Z[0-9A-Z]{6}\d{10}$/);
    expect(newTrackingNumber("FedEx")).toMatch(/^\d{12}$/);
    expect(newTrackingNumber("DHL")).toMatch(/^JD\d{18}$/);
    expect(newTrackingNumber("USPS")).toMatch(/^9400\d{18}$/);
    expect(newTrackingNumber("USPS")).not.toBe(newTrackingNumber("USPS"));
  });

  it("draws every digit of a tracking number", () => {
    const numbers = Array.from({ length: 200 }, () => newTrackingNumber("DHL").slice(2));
    for (let position = 0; position < 18; position += 1) {
      const seen = new Set(numbers.map((number) => number[position]));
      expect(seen.size).toBeGreaterThan(5);
    }
  });
});
