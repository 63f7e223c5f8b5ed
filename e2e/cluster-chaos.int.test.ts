import { expect, it } from "vitest";
import { runShortSoak } from "./chaos/short-soak.ts";

it("loses no order and does nothing twice on a Redis Cluster with 4 partitions while apps are SIGKILLed and masters fail over", async () => {
  const result = await runShortSoak({
    isCluster: true,
    partitions: 4,
    failovers: 2,
    orderCount: 150,
  });
  expect(result.figures.failovers).toBeGreaterThanOrEqual(1);
}, 150_000);
