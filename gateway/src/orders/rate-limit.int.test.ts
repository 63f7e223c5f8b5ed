import { createKeys } from "@conveyor/contract";
import { createRedis } from "@conveyor/runtime";
import { uniquePrefix } from "@conveyor/testkit";
import { describe, expect, inject, it, onTestFinished } from "vitest";
import { PLACE_ORDER, startTestGateway, type TestGateway } from "../testing/test-gateway.ts";
import { createRateLimiter, type RateLimitDecision } from "./rate-limit.ts";

const INPUT = { customerId: "limited", items: [{ sku: "KB-001", quantity: 1 }] };

async function placeOrder(
  test: TestGateway,
  headers: Record<string, string> = {},
): Promise<{
  status: number;
  code: unknown;
  orderId: unknown;
  retryAfter: string | null;
  retryAfterSeconds: unknown;
}> {
  const response = await fetch(test.gateway.url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ query: PLACE_ORDER, variables: { input: INPUT } }),
  });
  const body = (await response.json()) as {
    data?: { placeOrder: { order: { id: string } } } | null;
    errors?: Array<{ extensions?: { code?: string; retryAfterSeconds?: number; http?: unknown } }>;
  };
  expect(body.errors?.[0]?.extensions?.http).toBeUndefined();
  return {
    status: response.status,
    code: body.errors?.[0]?.extensions?.code,
    orderId: body.data?.placeOrder.order.id,
    retryAfter: response.headers.get("retry-after"),
    retryAfterSeconds: body.errors?.[0]?.extensions?.retryAfterSeconds,
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
    // A refused call says when to come back, in the header and in the error.
    const refused = answers[3];
    expect(Number(refused?.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(refused?.retryAfter)).toBeLessThanOrEqual(120);
    expect(refused?.retryAfterSeconds).toBe(Number(refused?.retryAfter));
    expect(answers[0]?.retryAfter).toBeNull();
    // A refused call publishes nothing.
    expect((await first.streamLengths())["order.created"]).toBe(3);
    const keys = await first.redis.keys(`${first.prefix}ratelimit:placeOrder:*`);
    expect(keys).toHaveLength(1);
    // Refused calls are not counted.
    expect(await first.redis.get(keys[0] as string)).toBe("3");
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

/** A limiter on its own prefix with a clock the test moves. */
function limiterAt(limitPerMinute: number) {
  const clock = { now: 0 };
  const limiter = createRateLimiter({
    openConnection: () => createRedis(inject("redisUrl"), "unpipelined", "rate-limit-test"),
    keyPrefix: createKeys(uniquePrefix("limit")).rateLimit("placeOrder"),
    limitPerMinute,
    now: () => clock.now,
  });
  onTestFinished(() => limiter.stop());
  const take = async (count: number) => {
    const decisions: RateLimitDecision[] = [];
    for (let i = 0; i < count; i += 1) decisions.push(await limiter.tryTake("client"));
    return decisions;
  };
  const allowed = (decisions: RateLimitDecision[]) =>
    decisions.filter((decision) => decision.isAllowed).length;
  return { clock, take, allowed };
}

describe("the sliding-minute limiter", () => {
  const minute = 60_000 * 29_000_000; // a minute boundary, in ms since the epoch

  it("allows no second burst at a minute's edge: the previous minute's calls fade out", async () => {
    const { clock, take, allowed } = limiterAt(10);
    clock.now = minute - 1_000;
    expect(allowed(await take(12))).toBe(10);
    // One second into the next minute, a fixed window would allow 10 more at once.
    clock.now = minute + 1_000;
    const [refused] = await take(1);
    expect(refused).toMatchObject({ isAllowed: false });
    // 9.83 of the 10 still count: one more call fits once they fade to 9, 6 s into the minute.
    expect(refused).toEqual({ isAllowed: false, retryAfterMs: 5_000 });
    // Half a minute in, half of the previous minute's calls still count.
    clock.now = minute + 30_000;
    expect(allowed(await take(10))).toBe(5);
    // At the end of the next minute, those 5 count for 1/60 of theirs: 9 more fit, not 10.
    clock.now = minute + 60_000 + 59_000;
    expect(allowed(await take(10))).toBe(9);
  });

  it("refuses for the rest of a full minute, then as the limit allows", async () => {
    const { clock, take, allowed } = limiterAt(3);
    clock.now = minute + 10_000;
    expect(allowed(await take(3))).toBe(3);
    const [refused] = await take(1);
    // The minute ends in 50 s; then 3 calls must fade to 2: a third of the next minute.
    expect(refused).toEqual({ isAllowed: false, retryAfterMs: 70_000 });
    clock.now = minute + 60_000 + 20_000 - 1;
    expect(allowed(await take(1))).toBe(0);
    clock.now = minute + 60_000 + 20_000;
    expect(allowed(await take(2))).toBe(1);
  });
});
