import { setTimeout as sleep } from "node:timers/promises";

/**
 * Polls `probe` until it returns a value other than `undefined`/`false`, or fails after
 * `timeoutMs` with the description and the last value seen.
 */
export async function waitFor<T>(
  description: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    last = await probe();
    if (last !== undefined && last !== false) return last as T;
    await sleep(intervalMs);
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${description} (last: ${JSON.stringify(last)})`,
  );
}

let counter = 0;

/** A key prefix no other test uses, so tests can share one Redis and run in parallel. */
export function uniquePrefix(label = "test"): string {
  counter += 1;
  return `t:${label}:${process.pid}:${counter}:${Date.now().toString(36)}:`;
}
