import { expect, it } from "vitest";
import { formatReport } from "./chaos/report.ts";
import { runSoak, SOAK_DEFAULTS } from "./chaos/soak.ts";

it("loses no order and does nothing twice while apps are SIGKILLed and Redis restarts from its AOF", async () => {
  const log: string[] = [];
  const result = await runSoak({
    ...SOAK_DEFAULTS,
    orderCount: 250,
    ratePerSecond: 20,
    killEveryMs: [500, 1_500],
    downtimeMs: [200, 1_500],
    minKillsPerApp: 2,
    redisRestarts: 1,
    redisDowntimeMs: [500, 1_500],
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
  expect(result.figures.ordersAccepted).toBe(250);
  expect(result.figures.lost).toBe(0);
  expect(result.figures.duplicatedEvents).toBe(0);
  expect(result.figures.subscriptionDuplicates).toBe(0);
  expect(result.figures.redisRestarts).toBe(1);
  for (const kills of Object.values(result.figures.kills)) expect(kills).toBeGreaterThanOrEqual(2);
}, 180_000);
