import { readEvents } from "@conveyor/testkit";
import { describe, expect, it } from "vitest";
import { PLACE_ORDER, startTestGateway } from "../testing/test-gateway.ts";

interface Placed {
  placeOrder: {
    order: {
      id: string;
      status: string;
      customerId: string;
      items: Array<{ sku: string; quantity: number; unitPrice: { amountCents: number } }>;
      total: { amountCents: number; currency: string };
      createdAt: string;
    };
  };
}

describe("placeOrder", () => {
  it("prices the order from the catalog, stores it PENDING and publishes order.created", async () => {
    const test = await startTestGateway();
    const response = await test.graphql<Placed>(PLACE_ORDER, {
      input: {
        customerId: "alice",
        items: [
          { sku: "KB-001", quantity: 2 },
          { sku: "MS-001", quantity: 1 },
        ],
      },
    });
    expect(response.errors).toBeUndefined();
    const order = response.data?.placeOrder.order;
    expect(order).toMatchObject({
      status: "PENDING",
      customerId: "alice",
      items: [
        { sku: "KB-001", quantity: 2, unitPrice: { amountCents: 8999 } },
        { sku: "MS-001", quantity: 1, unitPrice: { amountCents: 2999 } },
      ],
      total: { amountCents: 2 * 8999 + 2999, currency: "USD" },
    });
    expect(order?.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);

    const [event, ...others] = await readEvents(test.redis, test.keys, "order.created");
    expect(others).toHaveLength(0);
    expect(event).toMatchObject({
      type: "order.created",
      orderId: order?.id,
      producer: "gateway",
      occurredAt: order?.createdAt,
      data: {
        customerId: "alice",
        items: [
          { sku: "KB-001", quantity: 2, unitPriceCents: 8999 },
          { sku: "MS-001", quantity: 1, unitPriceCents: 2999 },
        ],
        totalCents: 20997,
        currency: "USD",
        paymentToken: "tok_visa",
      },
    });
  });

  it("answers with the order as the read model stores it, and a replayed key with that order", async () => {
    const test = await startTestGateway();
    const input = {
      customerId: "amy",
      items: [{ sku: "KB-001", quantity: 3 }],
      idempotencyKey: "cart-7",
    };
    const placed = (await test.graphql<Placed>(PLACE_ORDER, { input })).data?.placeOrder.order;
    expect(placed).toBeDefined();
    const stored = await test.graphql<{ order: unknown }>(
      `query Read($id: ID!) {
        order(id: $id) {
          id status customerId
          items { sku quantity unitPrice { amountCents currency } }
          total { amountCents currency }
          traceId createdAt updatedAt failureReason
        }
      }`,
      { id: placed?.id },
    );
    expect(stored.data?.order).toEqual(placed);
    const replayed = await test.graphql<Placed>(PLACE_ORDER, { input });
    expect(replayed.data?.placeOrder.order).toEqual(placed);
  });

  it("treats a product without a valid price as an unknown sku and publishes nothing", async () => {
    const test = await startTestGateway();
    await test.redis.hdel(test.keys.product("KB-001"), "priceCents");
    const response = await test.graphql<Placed>(PLACE_ORDER, {
      input: { customerId: "ann", items: [{ sku: "KB-001", quantity: 1 }] },
    });
    expect(response.errors?.[0]?.extensions).toMatchObject({
      code: "UNKNOWN_SKU",
      skus: ["KB-001"],
    });
    expect((await test.streamLengths())["order.created"]).toBe(0);
  });

  it("gives later orders ids that sort after earlier ones", async () => {
    const test = await startTestGateway();
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const response = await test.graphql<Placed>(PLACE_ORDER, {
        input: { customerId: "bob", items: [{ sku: "CB-001", quantity: 1 }] },
      });
      ids.push(response.data?.placeOrder.order.id ?? "");
    }
    expect([...ids].sort()).toEqual(ids);
  });

  it("passes the payment token on to order.created", async () => {
    const test = await startTestGateway();
    await test.graphql(PLACE_ORDER, {
      input: {
        customerId: "carol",
        items: [{ sku: "CB-001", quantity: 1 }],
        paymentToken: "tok_chargeDeclined",
      },
    });
    const [event] = await readEvents(test.redis, test.keys, "order.created");
    expect(event?.data.paymentToken).toBe("tok_chargeDeclined");
  });

  const line = { sku: "KB-001", quantity: 1 };
  const badInputs: Array<[string, Record<string, unknown>, string]> = [
    ["an unknown sku", { customerId: "c", items: [{ sku: "NOPE-1", quantity: 1 }] }, "UNKNOWN_SKU"],
    [
      "a quantity of 0",
      { customerId: "c", items: [{ sku: "KB-001", quantity: 0 }] },
      "BAD_USER_INPUT",
    ],
    [
      "a negative quantity",
      { customerId: "c", items: [{ sku: "KB-001", quantity: -3 }] },
      "BAD_USER_INPUT",
    ],
    [
      "an absurd quantity",
      { customerId: "c", items: [{ sku: "KB-001", quantity: 1001 }] },
      "BAD_USER_INPUT",
    ],
    ["no items", { customerId: "c", items: [] }, "BAD_USER_INPUT"],
    [
      "too many lines",
      { customerId: "c", items: Array.from({ length: 51 }, () => line) },
      "BAD_USER_INPUT",
    ],
    ["an empty customerId", { customerId: "", items: [line] }, "BAD_USER_INPUT"],
    ["an oversized customerId", { customerId: "x".repeat(129), items: [line] }, "BAD_USER_INPUT"],
    [
      "an oversized sku",
      { customerId: "c", items: [{ sku: "S".repeat(65), quantity: 1 }] },
      "BAD_USER_INPUT",
    ],
    [
      "a malformed payment token",
      { customerId: "c", items: [line], paymentToken: "visa" },
      "BAD_USER_INPUT",
    ],
    [
      "an oversized payment token",
      { customerId: "c", items: [line], paymentToken: `tok_${"a".repeat(65)}` },
      "BAD_USER_INPUT",
    ],
    [
      "an oversized idempotency key",
      { customerId: "c", items: [line], idempotencyKey: "k".repeat(129) },
      "BAD_USER_INPUT",
    ],
    [
      "a quantity beyond a 32-bit Int",
      { customerId: "c", items: [{ sku: "KB-001", quantity: 2 ** 40 }] },
      "BAD_USER_INPUT",
    ],
    ["a missing customerId", { items: [line] }, "BAD_USER_INPUT"],
    [
      "an unknown input field",
      { customerId: "c", items: [line], coupon: "FREE" },
      "BAD_USER_INPUT",
    ],
  ];

  it.each(badInputs)(
    "refuses %s with its code and publishes nothing",
    async (_name, input, code) => {
      const test = await startTestGateway();
      const before = await test.streamLengths();
      const response = await test.graphql(PLACE_ORDER, { input });
      expect(response.data?.placeOrder ?? null).toBeNull();
      expect(response.errors?.[0]?.extensions?.code).toBe(code);
      expect(response.errors?.[0]?.message.length).toBeGreaterThan(10);
      expect(await test.streamLengths()).toEqual(before);
      expect(await test.redis.zcard(test.keys.partition(0).orders)).toBe(0);
    },
  );

  it("refuses an order whose total does not fit a Money amount", async () => {
    const test = await startTestGateway();
    // A product priced so that two of them overflow a 32-bit amount of cents.
    await test.redis.hset(test.keys.product("GOLD-1"), {
      sku: "GOLD-1",
      name: "Gold bar",
      priceCents: 2_000_000_000,
      currency: "USD",
    });
    await test.redis.sadd(test.keys.skus, "GOLD-1");
    await test.redis.hset(test.keys.stock, "GOLD-1", 10);
    const response = await test.graphql(PLACE_ORDER, {
      input: { customerId: "c", items: [{ sku: "GOLD-1", quantity: 2 }] },
    });
    expect(response.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(response.errors?.[0]?.message).toMatch(/total/);
    expect((await test.streamLengths())["order.created"]).toBe(0);
  });

  it("makes one order and one order.created from 20 concurrent calls with one idempotency key", async () => {
    const test = await startTestGateway();
    const input = {
      customerId: "dave",
      items: [{ sku: "HD-001", quantity: 1 }],
      idempotencyKey: "checkout-42",
    };
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => test.graphql<Placed>(PLACE_ORDER, { input })),
    );
    const ids = new Set(responses.map((response) => response.data?.placeOrder.order.id));
    expect(responses.every((response) => response.errors === undefined)).toBe(true);
    expect(ids.size).toBe(1);
    expect(await readEvents(test.redis, test.keys, "order.created")).toHaveLength(1);
    expect(await test.redis.zcard(test.keys.partition(0).orders)).toBe(1);
  });

  it("answers IDEMPOTENCY_CONFLICT when a key is reused for a different request", async () => {
    const test = await startTestGateway();
    const input = {
      customerId: "erin",
      items: [{ sku: "HD-001", quantity: 1 }],
      idempotencyKey: "k1",
    };
    const first = await test.graphql<Placed>(PLACE_ORDER, { input });
    expect(first.errors).toBeUndefined();
    const changed = await test.graphql(PLACE_ORDER, {
      input: { ...input, items: [{ sku: "HD-001", quantity: 2 }] },
    });
    expect(changed.errors?.[0]?.extensions?.code).toBe("IDEMPOTENCY_CONFLICT");
    // The same key of another customer is another key.
    const other = await test.graphql<Placed>(PLACE_ORDER, {
      input: { ...input, customerId: "frank" },
    });
    expect(other.errors).toBeUndefined();
    expect(other.data?.placeOrder.order.id).not.toBe(first.data?.placeOrder.order.id);
    expect(await readEvents(test.redis, test.keys, "order.created")).toHaveLength(2);
  });

  it("does not let separators in customer ids and keys make two customers' keys collide", async () => {
    const test = await startTestGateway();
    const items = [{ sku: "CB-001", quantity: 1 }];
    const a = await test.graphql<Placed>(PLACE_ORDER, {
      input: { customerId: "a:b", items, idempotencyKey: "c" },
    });
    const b = await test.graphql<Placed>(PLACE_ORDER, {
      input: { customerId: "a", items, idempotencyKey: "b:c" },
    });
    expect(a.errors).toBeUndefined();
    expect(b.errors).toBeUndefined();
    expect(b.data?.placeOrder.order.id).not.toBe(a.data?.placeOrder.order.id);
  });
});
