import { describe, expect, it } from "vitest";
import { createRateLimiter } from "./rate-limit.ts";

describe("rate limiter", () => {
  it("allows the limit per client per minute, then refuses until the next minute", () => {
    let now = 0;
    const limiter = createRateLimiter(2, () => now);
    expect([limiter.tryTake("a"), limiter.tryTake("a"), limiter.tryTake("a")]).toEqual([
      true,
      true,
      false,
    ]);
    expect(limiter.tryTake("b")).toBe(true);
    now = 60_000;
    expect(limiter.tryTake("a")).toBe(true);
  });

  it("never refuses with a limit of 0", () => {
    const limiter = createRateLimiter(0);
    expect(Array.from({ length: 1000 }, () => limiter.tryTake("a")).every(Boolean)).toBe(true);
  });
});
