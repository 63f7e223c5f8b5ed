import type { GroupHealth } from "./pipeline-health.ts";

/**
 * One group's health over every partition, from its health on each (an event type's stream is
 * one stream per partition, each with its own consumer group):
 * - pending entries, lag and throughput add up; the lag is unknown if it is on any partition;
 * - consumers is the most on any partition: every replica joins the group on every partition
 *   under one name, so adding them up would count each replica once per partition;
 * - live consumers is the fewest on any partition: 0 when some partition has nobody to work
 *   its entries, which is what "no live consumer" warns about;
 * - the oldest pending entry is the oldest of any partition.
 * With one partition, its health is returned as it is.
 */
export function totalOverPartitions(perPartition: readonly GroupHealth[]): GroupHealth[] {
  const totals = new Map<string, GroupHealth>();
  for (const health of perPartition) {
    const id = `${health.stream}|${health.group}`;
    const total = totals.get(id);
    if (!total) {
      totals.set(id, { ...health });
      continue;
    }
    total.consumers = Math.max(total.consumers, health.consumers);
    total.pending += health.pending;
    total.lag = total.lag === null || health.lag === null ? null : total.lag + health.lag;
    total.throughputPerSecond =
      Math.round((total.throughputPerSecond + health.throughputPerSecond) * 100) / 100;
    total.liveConsumers = Math.min(total.liveConsumers, health.liveConsumers);
    total.oldestPendingAgeMs =
      total.oldestPendingAgeMs === null || health.oldestPendingAgeMs === null
        ? (total.oldestPendingAgeMs ?? health.oldestPendingAgeMs)
        : Math.max(total.oldestPendingAgeMs, health.oldestPendingAgeMs);
  }
  return [...totals.values()];
}
