import { expect } from "vitest";
import { formatReport } from "./report.ts";
import { runSoak, SOAK_DEFAULTS, type SoakOptions, type SoakResult } from "./soak.ts";

/**
 * Runs the short soak `npm test` holds (every app SIGKILLed twice or more, clients resuming,
 * replays, restocks) with `options` on top, and checks what every soak must show: every check
 * passed, every order accepted, nothing lost or done twice, no subscriber given an event twice.
 * On failure the run's log and report are printed. Resolves the result for the test's own checks.
 */
export async function runShortSoak(
  options: Partial<SoakOptions> & Pick<SoakOptions, "orderCount">,
): Promise<SoakResult> {
  const log: string[] = [];
  const result = await runSoak({
    ...SOAK_DEFAULTS,
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
    ...options,
  });
  if (!result.ok) console.error(`${log.join("\n")}\n${formatReport(result)}`);

  expect(result.checks.filter((check) => !check.ok)).toEqual([]);
  expect(result.figures.ordersAccepted).toBe(options.orderCount);
  expect(result.figures.lost).toBe(0);
  expect(result.figures.duplicatedEvents).toBe(0);
  expect(result.figures.subscriptionDuplicates).toBe(0);
  for (const kills of Object.values(result.figures.kills)) expect(kills).toBeGreaterThanOrEqual(2);
  return result;
}
