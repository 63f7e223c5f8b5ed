import { expect, it } from "vitest";
import { formatReport } from "./chaos/report.ts";
import { runSoak, SOAK_DEFAULTS } from "./chaos/soak.ts";

it("loses no order and does nothing twice on a Redis Cluster with 4 partitions while apps are SIGKILLed and masters fail over", async () => {
  const log: string[] = [];
  const result = await runSoak({
    ...SOAK_DEFAULTS,
    isCluster: true,
    partitions: 4,
    failovers: 2,
    orderCount: 150,
    ratePerSecond: 20,
    killEveryMs: [500, 1_500],
    downtimeMs: [200, 1_500],
    minKillsPerApp: 2,
    watchEveryNthOrder: 5,
    eventWatchers: 2,
    replayChance: 0.1,
    restockEveryMs: 1_500,
    drainTimeoutMs: 45_000,
    seed: Date.now() % 1_000_000,
    log: (line) => log.push(line),
  });
  const report = formatReport(result);
  if (!result.ok) console.error(`${log.join("\n")}\n${report}`);

  expect(result.checks.filter((check) => !check.ok)).toEqual([]);
  expect(result.figures.ordersAccepted).toBe(150);
  expect(result.figures.lost).toBe(0);
  expect(result.figures.duplicatedEvents).toBe(0);
  expect(result.figures.subscriptionDuplicates).toBe(0);
  expect(result.figures.failovers).toBeGreaterThanOrEqual(1);
  for (const kills of Object.values(result.figures.kills)) expect(kills).toBeGreaterThanOrEqual(2);
}, 150_000);
