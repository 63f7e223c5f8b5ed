import { fileURLToPath } from "node:url";
import { createKeys } from "@conveyor/contract";
import { readEvents, spawnService, uniquePrefix } from "@conveyor/testkit";
import { Redis } from "ioredis";
import { describe, expect, inject, it, onTestFinished } from "vitest";

describe("the gateway process", () => {
  it("starts from its settings, serves GraphQL and stops cleanly on SIGTERM", async () => {
    const redisUrl = inject("redisUrl");
    const prefix = uniquePrefix("gateway-process");
    const gateway = await spawnService({
      name: "gateway",
      entry: fileURLToPath(new URL("./main.ts", import.meta.url)),
      env: { REDIS_URL: redisUrl, STREAM_PREFIX: prefix, LOG_LEVEL: "warn", HOST: "127.0.0.1" },
      portVariable: "PORT",
    });
    onTestFinished(() => gateway.kill());
    await gateway.waitUntilReady();

    const response = await fetch(`http://127.0.0.1:${gateway.healthPort}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        query:
          'mutation { placeOrder(input: { customerId: "p", items: [{ sku: "WC-001", quantity: 1 }] }) { order { id status } } }',
      }),
    });
    const body = (await response.json()) as { data: { placeOrder: { order: { id: string } } } };
    const redis = new Redis(redisUrl);
    onTestFinished(async () => {
      await redis.quit();
    });
    const [event] = await readEvents(redis, createKeys(prefix), "order.created");
    expect(event?.orderId).toBe(body.data.placeOrder.order.id);

    expect(await gateway.stop("SIGTERM")).toBe(0);
  });

  it("refuses to start with invalid settings, saying which", async () => {
    const gateway = await spawnService({
      name: "gateway",
      entry: fileURLToPath(new URL("./main.ts", import.meta.url)),
      env: { REDIS_URL: "http://not-redis", SUBSCRIBER_BUFFER_SIZE: "many" },
      portVariable: "PORT",
    });
    expect(await gateway.exited).toBe(1);
    const output = gateway.output.join("");
    expect(output).toMatch(/REDIS_URL/);
    expect(output).toMatch(/SUBSCRIBER_BUFFER_SIZE/);
  });

  it("refuses to start in production without a way to check tokens", async () => {
    const gateway = await spawnService({
      name: "gateway",
      entry: fileURLToPath(new URL("./main.ts", import.meta.url)),
      env: { NODE_ENV: "production", REDIS_URL: inject("redisUrl") },
      portVariable: "PORT",
    });
    expect(await gateway.exited).toBe(1);
    expect(gateway.output.join("")).toMatch(
      /AUTH_MODE=required \(the default in production\) needs exactly one of AUTH_JWT_SECRET/,
    );
  });
});
