import { describe, expect, it } from "vitest";
import { compareCursors, mergeByCursor } from "./cursor.ts";

const event = (cursor: string) => ({ cursor, type: "order.created" });

describe("compareCursors", () => {
  it("orders stream entry ids by time, then sequence, not as text", () => {
    expect(compareCursors("1700000000000-0", "1700000000000-1")).toBeLessThan(0);
    expect(compareCursors("1700000000000-10", "1700000000000-9")).toBeGreaterThan(0);
    expect(compareCursors("999999999999-0", "1000000000000-0")).toBeLessThan(0);
    expect(compareCursors("1700000000000-3", "1700000000000-3")).toBe(0);
  });

  it("orders the cursors of a partitioned feed the way one subscription receives them", () => {
    const along = ["5-0_0-0_7-0", "5-1_0-0_7-0", "5-1_6-0_7-0", "5-1_6-0_7-4", "9-0_6-0_7-4"];
    for (let index = 1; index < along.length; index += 1) {
      expect(compareCursors(along[index - 1] as string, along[index] as string)).toBeLessThan(0);
      expect(compareCursors(along[index] as string, along[index - 1] as string)).toBeGreaterThan(0);
    }
    expect(compareCursors("5-1_6-0", "5-1_6-0")).toBe(0);
    expect(compareCursors("5-1_6-0", "not a cursor")).toBeLessThan(0);
  });
});

describe("mergeByCursor", () => {
  it("appends new events in cursor order", () => {
    const log = mergeByCursor([event("1-0")], [event("2-0"), event("3-0")]);
    expect(log.map((entry) => entry.cursor)).toEqual(["1-0", "2-0", "3-0"]);
  });

  it("drops events it already has, as a replay after a reconnect delivers them again", () => {
    const log = [event("1-0"), event("2-0"), event("3-0")];
    const merged = mergeByCursor(log, [event("2-0"), event("3-0"), event("4-0")]);
    expect(merged.map((entry) => entry.cursor)).toEqual(["1-0", "2-0", "3-0", "4-0"]);
  });

  it("returns the same array when nothing is new, so React skips the render", () => {
    const log = [event("1-0"), event("2-0")];
    expect(mergeByCursor(log, [event("1-0"), event("2-0")])).toBe(log);
    expect(mergeByCursor(log, [])).toBe(log);
  });

  it("puts a late event in its place instead of at the end", () => {
    const merged = mergeByCursor([event("1-0"), event("3-0")], [event("2-0")]);
    expect(merged.map((entry) => entry.cursor)).toEqual(["1-0", "2-0", "3-0"]);
  });

  it("keeps only the newest events past the limit", () => {
    const merged = mergeByCursor([event("1-0"), event("2-0")], [event("3-0"), event("4-0")], 3);
    expect(merged.map((entry) => entry.cursor)).toEqual(["2-0", "3-0", "4-0"]);
  });
});
