import { join } from "node:path";
import {
  collect,
  EVENT_FIELDS,
  freePort,
  OtlpSpanKind,
  spawnService,
  sseClient,
  startOtlpReceiver,
  uniquePrefix,
  waitFor,
} from "@conveyor/testkit";
import { Redis } from "ioredis";
import { describe, expect, inject, it, onTestFinished } from "vitest";
import { signToken } from "../gateway/src/auth/sign.ts";
import { startSystem } from "./support/system.ts";

const SECRET = "e2e-auth-secret-0123456789abcdef-0123456";
const root = join(import.meta.dirname, "..");

const PLACE = `mutation Place($customerId: String!, $paymentToken: String) {
  placeOrder(input: { customerId: $customerId, paymentToken: $paymentToken, items: [{ sku: "KB-001", quantity: 1 }] }) {
    order { id traceId }
  }
}`;

async function post(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  token: string | undefined,
) {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  return {
    status: response.status,
    ...((await response.json()) as {
      data?: Record<string, unknown> | null;
      errors?: Array<{ extensions?: { code?: string } }>;
    }),
  };
}

describe("authentication through the whole system", () => {
  it("puts enduser.id on spans only where configured, and no token in any log, span or stream", async () => {
    const receiver = await startOtlpReceiver();
    onTestFinished(() => receiver.stop());
    const redisUrl = inject("redisUrl");
    const prefix = uniquePrefix("auth-e2e");
    const auth = { AUTH_MODE: "required", AUTH_JWT_SECRET: SECRET };
    const system = await startSystem({
      redisUrl,
      prefix,
      otlpEndpoint: receiver.endpoint,
      appEnv: { gateway: { ...auth, TRACE_ENDUSER_ID: "true", LOG_LEVEL: "debug" } },
    });
    onTestFinished(() => system.stopAll());
    // A second replica that keeps end users out of its spans (the default).
    const privatePort = await freePort();
    const privateGateway = await spawnService({
      name: "gateway-private",
      entry: join(root, "gateway/src/main.ts"),
      nodeArgs: ["--import", "@conveyor/telemetry/register"],
      portVariable: "PORT",
      env: {
        ...auth,
        PORT: String(privatePort),
        REDIS_URL: redisUrl,
        STREAM_PREFIX: prefix,
        LOG_LEVEL: "debug",
        OTEL_SDK_DISABLED: "false",
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_BSP_SCHEDULE_DELAY: "100",
        OTEL_METRICS_EXPORTER: "prometheus",
        OTEL_SERVICE_NAME: "gateway-private",
      },
    });
    onTestFinished(async () => {
      await privateGateway.stop("SIGTERM");
    });
    await privateGateway.waitUntilReady();
    const privateUrl = `http://127.0.0.1:${privatePort}`;

    const alice = await signToken(SECRET, { subject: "alice" });
    const bob = await signToken(SECRET, { subject: "bob" });
    const operator = await signToken(SECRET, { subject: "ops", isOperator: true });
    const forged = await signToken(`${SECRET}-forged`, { subject: "eve", isOperator: true });
    const tokens = [alice, bob, operator, forged];

    // Alice watches her order over graphql-sse while it goes through the pipeline.
    const placed = await post(system.gatewayUrl, PLACE, { customerId: "alice" }, alice);
    const order = (
      placed.data as unknown as { placeOrder: { order: { id: string; traceId: string } } }
    ).placeOrder.order;
    const watch = collect(
      sseClient(`${system.gatewayUrl}/graphql/stream`, false, { authorization: `Bearer ${alice}` }),
      `subscription($orderId: ID!) { orderEvents(orderId: $orderId) { ${EVENT_FIELDS} } }`,
      { orderId: order.id },
    );
    await waitFor("alice's order to ship", () =>
      watch.events.some((event) => event.type === "shipment.created"),
    );
    // Bob's declined order goes through the other replica; a forged token is refused.
    const declined = await post(
      privateUrl,
      PLACE,
      { customerId: "bob", paymentToken: "tok_chargeDeclined" },
      bob,
    );
    const bobOrder = (declined.data as unknown as { placeOrder: { order: { traceId: string } } })
      .placeOrder.order;
    expect((await post(system.gatewayUrl, PLACE, { customerId: "eve" }, forged)).status).toBe(401);
    expect((await post(privateUrl, PLACE, { customerId: "eve" }, forged)).status).toBe(401);
    const health = await post(privateUrl, "{ pipelineHealth { deadLetterCount } }", {}, operator);
    expect(health.errors).toBeUndefined();

    await waitFor("both requests' server spans", () => {
      const servers = receiver.spans.filter((span) => span.kind === OtlpSpanKind.SERVER);
      return (
        servers.some((span) => span.traceId === order.traceId) &&
        servers.some((span) => span.traceId === bobOrder.traceId)
      );
    });
    const aliceServer = receiver.spans.find(
      (span) => span.traceId === order.traceId && span.kind === OtlpSpanKind.SERVER,
    );
    expect(aliceServer).toMatchObject({
      service: "gateway",
      attributes: { "enduser.id": "alice" },
    });
    const privateSpans = receiver.spans.filter((span) => span.service === "gateway-private");
    expect(privateSpans.length).toBeGreaterThan(0);
    expect(privateSpans.filter((span) => "enduser.id" in span.attributes)).toEqual([]);

    // No token, nor its signature, anywhere: span attributes and events, logs, Redis.
    const signatures = tokens.map((token) => token.split(".")[2] ?? "");
    const spansText = JSON.stringify(receiver.spans, (_key, value) =>
      typeof value === "bigint" ? String(value) : value,
    );
    const logs = [
      ...(system.processes.get("gateway")?.output ?? []),
      ...privateGateway.output,
    ].join("");
    expect(logs).toMatch(/credentials refused/);
    const redis = new Redis(redisUrl);
    onTestFinished(async () => {
      await redis.quit();
    });
    const stored: string[] = [];
    for (const key of await redis.keys(`${prefix}*`)) {
      const type = await redis.type(key);
      if (type === "stream") stored.push(JSON.stringify(await redis.xrange(key, "-", "+")));
      if (type === "hash") stored.push(JSON.stringify(await redis.hgetall(key)));
      if (type === "list") stored.push(JSON.stringify(await redis.lrange(key, 0, -1)));
    }
    for (const [where, text] of [
      ["spans", spansText],
      ["logs", logs],
      ["redis", stored.join("\n")],
    ] as const) {
      for (const signature of signatures) expect(text.includes(signature), where).toBe(false);
      expect(text, where).not.toMatch(/Bearer |eyJhbGci/);
    }
  });
});
