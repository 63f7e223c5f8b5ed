import { describe, expect, it } from "vitest";
import { compareCursors, isAfter, isCursor } from "./cursor.ts";

describe("cursors", () => {
  it("compares stream ids by their numbers, not as strings", () => {
    expect(compareCursors("10-0", "9-0")).toBeGreaterThan(0);
    expect(compareCursors("5-10", "5-9")).toBeGreaterThan(0);
    expect(compareCursors("5-1", "5-1")).toBe(0);
    expect(compareCursors("1700000000000-0", "1700000000001-0")).toBeLessThan(0);
    expect(compareCursors("007-1", "7-1")).toBe(0);
    expect(compareCursors("18446744073709551615-0", "18446744073709551614-9")).toBeGreaterThan(0);
  });

  it("accepts only well-formed stream ids within 64 bits", () => {
    expect(isCursor("1700000000000-0")).toBe(true);
    expect(isCursor("18446744073709551615-18446744073709551615")).toBe(true);
    expect(isCursor("18446744073709551616-0")).toBe(false);
    for (const bad of ["", "1700000000000", "-1-0", "a-b", "1-2-3", " 1-0", "1-0\n"]) {
      expect(isCursor(bad), JSON.stringify(bad)).toBe(false);
    }
  });

  it("treats every cursor as after a missing one", () => {
    expect(isAfter("1-0", undefined)).toBe(true);
    expect(isAfter("1-0", "1-0")).toBe(false);
    expect(isAfter("2-0", "1-9")).toBe(true);
  });
});
