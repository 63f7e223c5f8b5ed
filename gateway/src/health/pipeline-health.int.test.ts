import { createKeys, idInPartition } from "@conveyor/contract";
import { createLogger } from "@conveyor/runtime";
import { publishEvent, uniquePrefix, waitFor } from "@conveyor/testkit";
import { Redis } from "ioredis";
import { describe, expect, inject, it, onTestFinished } from "vitest";
import { eventsOf, testOrderId } from "../testing/events.ts";
import { startTestGateway } from "../testing/test-gateway.ts";
import { createPipelineHealth, type PipelineHealthReport } from "./pipeline-health.ts";

const HEALTH = /* GraphQL */ `
  {
    pipelineHealth {
      streams { name length }
      groups { stream group consumers pending lag throughputPerSecond }
      services { name consumers pending lag throughputPerSecond }
      deadLetterCount
      sampledAt
    }
  }
`;

describe("pipelineHealth", () => {
  it("reports stream lengths, each group's consumers, pending, lag and throughput, and dead letters", async () => {
    const test = await startTestGateway({
      HEALTH_SAMPLE_INTERVAL_MS: "50",
      // A window far longer than the test, so a slow machine cannot slide the reads out of it.
      HEALTH_WINDOW_MS: "600000",
    });
    const stream = test.keys.partition(0).stream("order.created");
    // A stand-in inventory consumer that reads three entries and acknowledges none.
    await test.redis.xgroup("CREATE", stream, "inventory", "0", "MKSTREAM");
    for (let i = 0; i < 10; i += 1) {
      await publishEvent(test.redis, test.keys, eventsOf(testOrderId()).created());
    }
    await test.redis.xreadgroup("GROUP", "inventory", "inv-1", "COUNT", 3, "STREAMS", stream, ">");
    await test.redis.xadd(test.keys.partition(0).deadLetter, "*", "reason", "test");
    await waitFor(
      "the feed to hold all ten",
      async () => (await test.redis.xlen(test.keys.partition(0).feed)) === 10,
    );

    const health = await waitFor("throughput to show", async () => {
      const response = await test.graphql<{ pipelineHealth: PipelineHealthReport }>(HEALTH);
      const report = response.data?.pipelineHealth;
      const gateway = report?.services.find((service) => service.name === "gateway");
      return gateway && gateway.throughputPerSecond > 0 ? report : undefined;
    });
    const lengths = Object.fromEntries(health.streams.map((s) => [s.name, s.length]));
    expect(lengths).toMatchObject({
      "order.created": 10,
      "inventory.reserved": 0,
      "shipment.created": 0,
      "dead-letter": 1,
      feed: 10,
    });
    expect(health.deadLetterCount).toBe(1);
    expect(health.groups).toContainEqual(
      expect.objectContaining({
        stream: "order.created",
        group: "inventory",
        consumers: 1,
        pending: 3,
        lag: 7,
      }),
    );
    expect(health.groups).toContainEqual(
      expect.objectContaining({
        stream: "order.created",
        group: "gateway",
        consumers: 1,
        pending: 0,
        lag: 0,
      }),
    );
    // The gateway's group sits on every event stream; inventory's on the one it reads here.
    expect(health.groups.filter((group) => group.group === "gateway")).toHaveLength(7);
    expect(health.services.map((service) => service.name)).toEqual(["gateway", "inventory"]);
    expect(health.services.find((service) => service.name === "inventory")).toMatchObject({
      consumers: 1,
      pending: 3,
      lag: 7,
    });
    expect(Date.parse(health.sampledAt)).toBeGreaterThan(0);

    // Reading more raises the inventory group's throughput above zero.
    await test.redis.xreadgroup("GROUP", "inventory", "inv-1", "COUNT", 5, "STREAMS", stream, ">");
    await waitFor("inventory throughput", async () => {
      const response = await test.graphql<{ pipelineHealth: PipelineHealthReport }>(HEALTH);
      const inventory = response.data?.pipelineHealth.services.find((s) => s.name === "inventory");
      return inventory && inventory.throughputPerSecond > 0 && inventory.lag === 2;
    });
  });

  it("adds up every partition: lengths, pending and lag summed, consumers the most on one", async () => {
    const keys = createKeys(uniquePrefix("health-p4"), 4);
    const redis = new Redis(inject("redisUrl"));
    const health = createPipelineHealth({
      redis,
      keys,
      logger: createLogger({ name: "health-test", level: "silent" }),
      sampleIntervalMs: 50,
      windowMs: 600_000,
    });
    onTestFinished(async () => {
      await health.stop();
      await redis.quit();
    });
    const published = [3, 1, 4, 2];
    const read = [1, 0, 2, 1];
    for (const partition of keys.partitions) {
      const stream = partition.stream("order.created");
      await redis.xgroup("CREATE", stream, "inventory", "0", "MKSTREAM");
      for (let n = 0; n < (published[partition.index] ?? 0); n += 1) {
        const orderId = idInPartition(testOrderId, partition.index, 4);
        await publishEvent(redis, keys, eventsOf(orderId).created());
      }
      const count = read[partition.index] ?? 0;
      if (count > 0) {
        await redis.xreadgroup(
          "GROUP",
          "inventory",
          "inv-1",
          "COUNT",
          count,
          "STREAMS",
          stream,
          ">",
        );
      }
    }
    for (const partition of [1, 3]) {
      await redis.xadd(keys.partition(partition).deadLetter, "*", "reason", "test");
    }
    for (const partition of [0, 0, 2]) {
      await redis.xadd(keys.partition(partition).feed, "*", "type", "order.created");
    }
    await health.start();

    const report = await health.report();
    const lengths = Object.fromEntries(report.streams.map((s) => [s.name, s.length]));
    expect(lengths).toEqual({
      "order.created": 10,
      "inventory.reserved": 0,
      "inventory.rejected": 0,
      "payment.processed": 0,
      "payment.failed": 0,
      "inventory.released": 0,
      "shipment.created": 0,
      "dead-letter": 2,
      feed: 3,
    });
    expect(report.deadLetterCount).toBe(2);
    // One group per event type and service, however many partitions hold it.
    expect(report.groups).toEqual([
      {
        stream: "order.created",
        group: "inventory",
        // inv-1 joined the group on three partitions: still one consumer.
        consumers: 1,
        pending: 4,
        lag: 6,
        throughputPerSecond: 0,
        liveConsumers: 0,
        oldestPendingAgeMs: expect.any(Number),
      },
    ]);
    expect(report.services).toEqual([
      { name: "inventory", consumers: 1, pending: 4, lag: 6, throughputPerSecond: 0 },
    ]);

    // Reads on two partitions add up to the group's throughput, and take its lag down.
    for (const partition of [1, 2]) {
      const stream = keys.partition(partition).stream("order.created");
      await redis.xreadgroup("GROUP", "inventory", "inv-1", "COUNT", 1, "STREAMS", stream, ">");
    }
    const later = await waitFor("throughput over partitions", async () => {
      const [group] = (await health.report()).groups;
      return group && group.throughputPerSecond > 0 ? group : undefined;
    });
    expect(later).toMatchObject({ pending: 6, lag: 4, consumers: 1 });
  });
});
