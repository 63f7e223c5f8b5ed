import { describe, expect, it } from "vitest";
import {
  advance,
  compareCursors,
  encodeCursor,
  feedStart,
  isCursor,
  isSamePosition,
  parseCursor,
} from "./cursor.ts";

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

  it("is the entry id itself with one partition, as cursors always were", () => {
    expect(encodeCursor(["1700000000000-3"])).toBe("1700000000000-3");
    expect(parseCursor("1700000000000-3", 1)).toEqual(["1700000000000-3"]);
    expect(parseCursor("1-0_2-0", 1)).toBeUndefined();
  });

  it("covers every partition with more, and refuses a cursor of another partitioning", () => {
    const position = advance(advance(feedStart(3), 0, "5-1"), 2, "7-0");
    const cursor = encodeCursor(position);
    expect(cursor).toBe("5-1_0-0_7-0");
    expect(parseCursor(cursor, 3)).toEqual(["5-1", "0-0", "7-0"]);
    expect(isSamePosition(parseCursor(cursor, 3) ?? [], position)).toBe(true);
    for (const bad of ["5-1_0-0", "5-1_0-0_7-0_1-0", "5-1__7-0", "5-1_x_7-0", "5-1"]) {
      expect(parseCursor(bad, 3), bad).toBeUndefined();
    }
    expect(parseCursor(cursor, 4)).toBeUndefined();
  });

  it("never changes a shared position: advancing makes a new one", () => {
    const start = feedStart(2);
    const next = advance(start, 1, "9-0");
    expect(start).toEqual(["0-0", "0-0"]);
    expect(next).toEqual(["0-0", "9-0"]);
    expect(Object.isFrozen(next)).toBe(true);
    expect(isSamePosition(start, next)).toBe(false);
  });
});
