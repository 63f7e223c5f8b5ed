import { publishEvent, waitFor } from "@conveyor/testkit";
import { describe, expect, it } from "vitest";
import { eventsOf, testOrderId } from "../testing/events.ts";
import { startTestGateway } from "../testing/test-gateway.ts";
import type { PipelineHealthReport } from "./pipeline-health.ts";

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
});
