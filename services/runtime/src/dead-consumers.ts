import { defineScript } from "./lua.ts";
import type { RedisClient } from "./redis.ts";

/*
 * A consumer that is SIGKILLed never leaves its group: other consumers claim its entries, but
 * its name stays listed (and counted in the pipeline's health) for good. Redis cannot tell a
 * dead consumer from an idle one: before 7.2 a blocking read that finds nothing does not even
 * renew `idle`. So each live consumer renews a lease, and a consumer with no live lease and
 * nothing pending is deleted. Leases live in a hash beside the stream, in its hash slot, and
 * expire by Redis's clock, so the hosts' clocks never matter.
 */

/** Milliseconds since the epoch by Redis's clock (scripts replicate effects, so TIME is allowed). */
const NOW_MS = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
`;

/** KEYS: one lease hash per stream read. ARGV: consumer name, lease length in ms. */
const RENEW_LEASE = `${NOW_MS}
for _, key in ipairs(KEYS) do redis.call('HSET', key, ARGV[1], now + tonumber(ARGV[2])) end
return 1
`;

/**
 * Deletes, in one step, the consumers with nothing pending and no live lease. One step matters:
 * `XGROUP DELCONSUMER` also drops the consumer's pending entries, so a consumer that read
 * between a separate check and the delete would lose what it read.
 *
 * KEYS: the stream, its lease hash. ARGV: group, the caller's name (never deleted).
 * Returns the names deleted.
 */
const REMOVE_DEAD_CONSUMERS = `${NOW_MS}
local removed = {}
for _, consumer in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local info = {}
  for i = 1, #consumer, 2 do info[consumer[i]] = consumer[i + 1] end
  local leaseEnd = tonumber(redis.call('HGET', KEYS[2], info.name) or '0')
  if info.name ~= ARGV[2] and info.pending == 0 and leaseEnd < now then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info.name)
    redis.call('HDEL', KEYS[2], info.name)
    removed[#removed + 1] = info.name
  end
end
local leases = redis.call('HGETALL', KEYS[2])
for i = 1, #leases, 2 do
  if tonumber(leases[i + 1]) < now then redis.call('HDEL', KEYS[2], leases[i]) end
end
return removed
`;

const renewLeaseScript = defineScript<number>(RENEW_LEASE);
const removeDeadConsumersScript = defineScript<string[]>(REMOVE_DEAD_CONSUMERS);

/** The hash of the leases of `group`'s consumers on `stream` (same hash slot as the stream). */
export function leaseKey(stream: string, group: string): string {
  return `${stream}:leases:${group}`;
}

/**
 * Renews the lease of consumer `name` of `group` on each of `streams` for `leaseMs`. A consumer
 * renews it well within that time for as long as it runs.
 */
export async function renewConsumerLease(
  redis: RedisClient,
  options: { streams: readonly string[]; group: string; name: string; leaseMs: number },
): Promise<void> {
  const { streams, group, name, leaseMs } = options;
  const keys = streams.map((stream) => leaseKey(stream, group));
  await renewLeaseScript.run(redis, keys, [name, leaseMs]);
}

/**
 * Removes from `group` on `stream` the consumers that died, once others have claimed their
 * entries: those with nothing pending and no live lease. Never removes `self`. Resolves the
 * names removed.
 */
export async function removeDeadConsumers(
  redis: RedisClient,
  options: { stream: string; group: string; self: string },
): Promise<string[]> {
  const { stream, group, self } = options;
  return removeDeadConsumersScript.run(redis, [stream, leaseKey(stream, group)], [group, self]);
}

/**
 * How many of a group's consumers hold a live lease, and how old (by Redis's clock) the oldest
 * entry the group has delivered and not acknowledged is, in one step.
 *
 * KEYS: the stream, its lease hash. ARGV: group. Returns {live, oldest age in ms or -1}.
 */
const GROUP_LIVENESS = `${NOW_MS}
local live = 0
for _, leaseEnd in ipairs(redis.call('HVALS', KEYS[2])) do
  if tonumber(leaseEnd) >= now then live = live + 1 end
end
local oldest = -1
local summary = redis.call('XPENDING', KEYS[1], ARGV[1])
if summary[2] then
  oldest = math.max(0, now - tonumber(string.match(summary[2], '^(%d+)')))
end
return {live, oldest}
`;

const groupLivenessScript = defineScript<[number, number]>(GROUP_LIVENESS);

/** What {@link groupLiveness} tells about a consumer group. */
export interface GroupLiveness {
  /**
   * Consumers whose lease is live: those running now (a consumer that died stays counted until
   * its lease, three claim intervals, runs out).
   */
  liveConsumers: number;
  /** Age of the oldest entry delivered to the group and not yet acknowledged; null if none. */
  oldestPendingAgeMs: number | null;
}

/**
 * Whether anyone is working a group's entries, and how long the oldest unacknowledged one has
 * waited since it was written: what an operator alerts on ("no live consumer", "stuck entries").
 */
export async function groupLiveness(
  redis: RedisClient,
  options: { stream: string; group: string },
): Promise<GroupLiveness> {
  const { stream, group } = options;
  const [live, oldest] = await groupLivenessScript.run(
    redis,
    [stream, leaseKey(stream, group)],
    [group],
  );
  return { liveConsumers: Number(live), oldestPendingAgeMs: oldest < 0 ? null : Number(oldest) };
}
