import { setTimeout as sleep } from "node:timers/promises";
import { collect, EVENT_FIELDS, sseClient, startRedisServer, waitFor } from "@conveyor/testkit";
import { describe, expect, it, onTestFinished } from "vitest";
import { PLACE_ORDER, startTestGateway } from "../testing/test-gateway.ts";

describe("while Redis is down", () => {
  it("answers UNAVAILABLE with what to do (even with masked errors), and recovers when Redis is back", async () => {
    const redisServer = await startRedisServer({ isPersistent: true, appendFsync: "always" });
    onTestFinished(() => redisServer.stop());
    const test = await startTestGateway({ REDIS_URL: redisServer.url, NODE_ENV: "production" });
    const placed = await test.graphql<{ placeOrder: { order: { id: string } } }>(PLACE_ORDER, {
      input: { customerId: "outage", items: [{ sku: "KB-001", quantity: 1 }] },
    });
    const orderId = placed.data?.placeOrder.order.id as string;
    expect(orderId).toBeDefined();
    const orderQuery = "query($id: ID!) { order(id: $id) { id } }";

    await redisServer.kill();

    const query = await test.graphql(orderQuery, { id: orderId });
    expect(query.errors?.[0]?.extensions?.code).toBe("UNAVAILABLE");
    expect(query.errors?.[0]?.message).toMatch(/unreachable.*Retry/);
    const mutation = await test.graphql(PLACE_ORDER, {
      input: { customerId: "outage", items: [{ sku: "KB-001", quantity: 1 }] },
    });
    expect(mutation.errors?.[0]?.extensions?.code).toBe("UNAVAILABLE");
    const subscription = collect(
      sseClient(test.gateway.streamUrl, false),
      `subscription($id: ID!) { orderEvents(orderId: $id) { ${EVENT_FIELDS} } }`,
      { id: orderId },
    );
    await waitFor("the subscription to end", () => subscription.isDone || undefined);
    const ended = subscription.results.at(-1);
    expect(ended?.errors?.[0]?.extensions).toMatchObject({ code: "UNAVAILABLE" });

    await redisServer.start();
    await waitFor("the gateway to answer again", async () => {
      const response = await test.graphql<{ order: { id: string } }>(orderQuery, { id: orderId });
      return response.data?.order?.id === orderId;
    });
  });

  it("still stops: subscriptions cut, reads abandoned, connections dropped", async () => {
    const redisServer = await startRedisServer();
    onTestFinished(() => redisServer.stop());
    const test = await startTestGateway({ REDIS_URL: redisServer.url });
    const subscription = collect(
      sseClient(test.gateway.streamUrl, false),
      `subscription { events { ${EVENT_FIELDS} } }`,
    );
    await redisServer.kill();
    await sleep(1_000);

    const stopped = test.gateway.stop().then(() => "stopped");
    expect(await Promise.race([stopped, sleep(20_000, "still stopping")])).toBe("stopped");
    await waitFor("the subscription to end", () => subscription.isDone || undefined);
  });
});
