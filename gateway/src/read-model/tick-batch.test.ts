import { describe, expect, it } from "vitest";
import { batchPerTick } from "./tick-batch.ts";

describe("batchPerTick", () => {
  it("runs the calls of one turn as one batch and settles each with its own result", async () => {
    const batches: number[][] = [];
    const double = batchPerTick(async (items: number[]) => {
      batches.push(items);
      return items.map((item) => (item < 0 ? new Error(`negative ${item}`) : item * 2));
    }, 10);
    const results = await Promise.allSettled([double(1), double(-2), double(3)]);
    expect(batches).toEqual([[1, -2, 3]]);
    expect(
      results.map((result) =>
        result.status === "fulfilled" ? result.value : String(result.reason),
      ),
    ).toEqual([2, "Error: negative -2", 6]);
    expect(await double(5)).toBe(10);
    expect(batches).toEqual([[1, -2, 3], [5]]);
  });

  it("splits a turn's calls into batches of at most maxBatchSize", async () => {
    const sizes: number[] = [];
    const echo = batchPerTick(async (items: number[]) => {
      sizes.push(items.length);
      return items;
    }, 2);
    expect(await Promise.all([1, 2, 3, 4, 5].map(echo))).toEqual([1, 2, 3, 4, 5]);
    expect(sizes).toEqual([2, 2, 1]);
  });

  it("rejects every call of a batch that fails as a whole", async () => {
    const failing = batchPerTick(async () => {
      throw new Error("Redis is gone");
    }, 10);
    const results = await Promise.allSettled([failing(1), failing(2)]);
    expect(results.map((result) => result.status)).toEqual(["rejected", "rejected"]);
  });
});
