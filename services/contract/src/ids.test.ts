import { decodeTime, isValid } from "ulid";
import { describe, expect, it } from "vitest";
import { createUlidFactory } from "./ids.ts";

describe("ULID factory", () => {
  it("makes valid ULIDs that carry their millisecond", () => {
    const at = Date.UTC(2026, 10, 26, 0, 30, 0, 123);
    const id = createUlidFactory(() => at)();
    expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(isValid(id)).toBe(true);
    expect(decodeTime(id)).toBe(at);
  });

  it("sorts ids made within one millisecond, or while the clock steps back, in order", () => {
    const times = [1_000, 1_000, 1_000, 999, 1_001, 1_001];
    const next = createUlidFactory(() => times.shift() ?? 1_002);
    const ids = Array.from({ length: 8 }, () => next());
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.slice(0, 4).map(decodeTime)).toEqual([1_000, 1_000, 1_000, 1_000]);
  });

  it("draws fresh random digits each millisecond, spread over the whole alphabet", () => {
    let time = 0;
    const next = createUlidFactory(() => (time += 1));
    const ids = Array.from({ length: 2_000 }, () => next());
    const randomParts = new Set(ids.map((id) => id.slice(10)));
    expect(randomParts.size).toBe(ids.length);
    const used = new Set(ids.flatMap((id) => [...id.slice(10)]));
    expect(used.size).toBe(32);
  });
});
