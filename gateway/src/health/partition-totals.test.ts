import { describe, expect, it } from "vitest";
import { totalOverPartitions } from "./partition-totals.ts";
import type { GroupHealth } from "./pipeline-health.ts";

const onPartition = (health: Partial<GroupHealth>): GroupHealth => ({
  stream: "order.created",
  group: "inventory",
  consumers: 2,
  pending: 0,
  lag: 0,
  throughputPerSecond: 0,
  liveConsumers: 2,
  oldestPendingAgeMs: null,
  ...health,
});

describe("a group's health over partitions", () => {
  it("is its one partition's with one partition", () => {
    const only = onPartition({ pending: 3, lag: null, oldestPendingAgeMs: 120 });
    expect(totalOverPartitions([only])).toEqual([only]);
  });

  it("adds up pending, lag and throughput, and takes the most consumers and oldest entry", () => {
    const total = totalOverPartitions([
      onPartition({ pending: 3, lag: 10, throughputPerSecond: 1.1, oldestPendingAgeMs: 50 }),
      onPartition({ pending: 0, lag: 0, throughputPerSecond: 2.2, consumers: 3 }),
      onPartition({ pending: 4, lag: 5, throughputPerSecond: 0.33, oldestPendingAgeMs: 900 }),
    ]);
    expect(total).toEqual([
      onPartition({
        consumers: 3,
        pending: 7,
        lag: 15,
        throughputPerSecond: 3.63,
        oldestPendingAgeMs: 900,
      }),
    ]);
  });

  it("has an unknown lag if any partition's is, and the fewest live consumers of any", () => {
    const [total] = totalOverPartitions([
      onPartition({ lag: 4, liveConsumers: 2 }),
      onPartition({ lag: null, liveConsumers: 0 }),
      onPartition({ lag: 1, liveConsumers: 2 }),
    ]);
    expect(total).toMatchObject({ lag: null, liveConsumers: 0 });
  });

  it("keeps groups and streams apart, in the order they first appear", () => {
    const total = totalOverPartitions([
      onPartition({ group: "gateway", pending: 1 }),
      onPartition({ group: "inventory", pending: 2 }),
      onPartition({ stream: "payment.failed", group: "inventory", pending: 4 }),
      onPartition({ group: "gateway", pending: 8 }),
    ]);
    expect(total.map(({ stream, group, pending }) => [stream, group, pending])).toEqual([
      ["order.created", "gateway", 9],
      ["order.created", "inventory", 2],
      ["payment.failed", "inventory", 4],
    ]);
  });
});
