import { expect, it } from "vitest";
import { runShortSoak } from "./chaos/short-soak.ts";

it("loses no order and does nothing twice while apps are SIGKILLed and Redis restarts from its AOF", async () => {
  const result = await runShortSoak({
    orderCount: 250,
    redisRestarts: 1,
    redisDowntimeMs: [500, 1_500],
  });
  expect(result.figures.redisRestarts).toBe(1);
}, 180_000);
