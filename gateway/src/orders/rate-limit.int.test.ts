import { describe, expect, it } from "vitest";
import { PLACE_ORDER, startTestGateway, type TestGateway } from "../testing/test-gateway.ts";

const INPUT = { customerId: "limited", items: [{ sku: "KB-001", quantity: 1 }] };

async function placeOrder(
  test: TestGateway,
  headers: Record<string, string> = {},
): Promise<{ status: number; code: unknown; orderId: unknown }> {
  const response = await fetch(test.gateway.url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ query: PLACE_ORDER, variables: { input: INPUT } }),
  });
  const body = (await response.json()) as {
    data?: { placeOrder: { order: { id: string } } } | null;
    errors?: Array<{ extensions?: { code?: string } }>;
  };
  return {
    status: response.status,
    code: body.errors?.[0]?.extensions?.code,
    orderId: body.data?.placeOrder.order.id,
  };
}

/** Counts are per minute: start a sequence of calls well inside one. */
async function awayFromMinuteBoundary(): Promise<void> {
  const intoMinuteMs = Date.now() % 60_000;
  if (intoMinuteMs > 55_000)
    await new Promise((resolve) => setTimeout(resolve, 60_500 - intoMinuteMs));
}

describe("placeOrder rate limit", () => {
  it("is shared by every replica: the limit holds across two gateways, with RATE_LIMITED", async () => {
    const first = await startTestGateway({ PLACE_ORDER_RATE_LIMIT: "3" });
    const second = await startTestGateway(
      { PLACE_ORDER_RATE_LIMIT: "3" },
      { prefix: first.prefix },
    );
    const answers = [
      await placeOrder(first),
      await placeOrder(second),
      await placeOrder(first),
      await placeOrder(second),
      await placeOrder(first),
    ];
    expect(answers.map((answer) => answer.code ?? "ok")).toEqual([
      "ok",
      "ok",
      "ok",
      "RATE_LIMITED",
      "RATE_LIMITED",
    ]);
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    // A refused call publishes nothing.
    expect((await first.streamLengths())["order.created"]).toBe(3);
    const keys = await first.redis.keys(`${first.prefix}ratelimit:placeOrder:*`);
    expect(keys).toHaveLength(1);
    expect(await first.redis.pttl(keys[0] as string)).toBeGreaterThan(60_000);
  });

  it("is on in production (600 a minute) and off in development", async () => {
    const production = await startTestGateway({ NODE_ENV: "production" });
    await placeOrder(production);
    const [key] = await production.redis.keys(`${production.prefix}ratelimit:placeOrder:*`);
    expect(await production.redis.get(key as string)).toBe("1");

    const development = await startTestGateway({ NODE_ENV: "development" });
    for (let i = 0; i < 5; i += 1) expect((await placeOrder(development)).code).toBeUndefined();
    expect(await development.redis.keys(`${development.prefix}ratelimit:*`)).toEqual([]);
  });

  it("counts each client behind a trusted proxy apart, and ignores forged headers otherwise", async () => {
    const proxied = await startTestGateway({ PLACE_ORDER_RATE_LIMIT: "1", TRUST_PROXY: "1" });
    const direct = await startTestGateway({ PLACE_ORDER_RATE_LIMIT: "1" });
    await awayFromMinuteBoundary();
    const alice = { "x-forwarded-for": "203.0.113.1" };
    const bob = { "x-forwarded-for": "203.0.113.2" };
    expect((await placeOrder(proxied, alice)).code).toBeUndefined();
    expect((await placeOrder(proxied, bob)).code).toBeUndefined();
    expect((await placeOrder(proxied, alice)).code).toBe("RATE_LIMITED");
    // What a client writes itself comes before what the proxy appends: it changes nothing.
    expect((await placeOrder(proxied, { "x-forwarded-for": "1.2.3.4, 203.0.113.1" })).code).toBe(
      "RATE_LIMITED",
    );

    expect((await placeOrder(direct, alice)).code).toBeUndefined();
    expect((await placeOrder(direct, bob)).code).toBe("RATE_LIMITED");
  });
});
