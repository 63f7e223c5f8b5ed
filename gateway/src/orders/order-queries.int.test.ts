import { publishEvent, waitFor } from "@conveyor/testkit";
import { describe, expect, it } from "vitest";
import { eventsOf } from "../testing/events.ts";
import { startTestGateway, type TestGateway } from "../testing/test-gateway.ts";

interface Page {
  orders: {
    totalCount: number;
    nodes: Array<{ id: string; status: string }>;
    edges: Array<{ cursor: string; node: { id: string } }>;
    pageInfo: {
      startCursor: string | null;
      endCursor: string | null;
      hasNextPage: boolean;
      hasPreviousPage: boolean;
    };
  };
}

const ORDERS = /* GraphQL */ `
  query Orders($first: Int, $after: String, $status: OrderStatus) {
    orders(first: $first, after: $after, status: $status) {
      totalCount
      nodes { id status }
      edges { cursor node { id } }
      pageInfo { startCursor endCursor hasNextPage hasPreviousPage }
    }
  }
`;

async function placeOrders(test: TestGateway, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const response = await test.graphql<{ placeOrder: { order: { id: string } } }>(
      `mutation { placeOrder(input: { customerId: "c${i}", items: [{ sku: "CB-001", quantity: 1 }] }) { order { id } } }`,
    );
    ids.push(response.data?.placeOrder.order.id ?? "");
  }
  return ids;
}

describe("order queries", () => {
  it("pages through orders newest first with a complete Relay PageInfo", async () => {
    const test = await startTestGateway();
    const [o1, o2, o3, o4, o5] = await placeOrders(test, 5);
    const first = await test.graphql<Page>(ORDERS, { first: 2 });
    expect(first.data?.orders).toEqual({
      totalCount: 5,
      nodes: [
        { id: o5, status: "PENDING" },
        { id: o4, status: "PENDING" },
      ],
      edges: [
        { cursor: o5, node: { id: o5 } },
        { cursor: o4, node: { id: o4 } },
      ],
      pageInfo: { startCursor: o5, endCursor: o4, hasNextPage: true, hasPreviousPage: false },
    });
    const second = await test.graphql<Page>(ORDERS, { first: 2, after: o4 });
    expect(second.data?.orders.nodes.map((order) => order.id)).toEqual([o3, o2]);
    expect(second.data?.orders.pageInfo).toEqual({
      startCursor: o3,
      endCursor: o2,
      hasNextPage: true,
      hasPreviousPage: true,
    });
    const last = await test.graphql<Page>(ORDERS, { first: 2, after: o2 });
    expect(last.data?.orders.nodes.map((order) => order.id)).toEqual([o1]);
    expect(last.data?.orders.pageInfo).toEqual({
      startCursor: o1,
      endCursor: o1,
      hasNextPage: false,
      hasPreviousPage: true,
    });
    const beyond = await test.graphql<Page>(ORDERS, { first: 2, after: o1 });
    expect(beyond.data?.orders.nodes).toEqual([]);
    expect(beyond.data?.orders.pageInfo).toEqual({
      startCursor: null,
      endCursor: null,
      hasNextPage: false,
      hasPreviousPage: true,
    });
  });

  it("filters by status as the read model moves orders on", async () => {
    const test = await startTestGateway();
    const [o1, o2, o3, o4] = await placeOrders(test, 4);
    for (const id of [o2, o4]) {
      await publishEvent(test.redis, test.keys, eventsOf(id as string).reserved());
    }
    const reserved = await waitFor("two RESERVED orders", async () => {
      const page = await test.graphql<Page>(ORDERS, { status: "RESERVED" });
      return page.data?.orders.totalCount === 2 ? page.data.orders : undefined;
    });
    expect(reserved.nodes).toEqual([
      { id: o4, status: "RESERVED" },
      { id: o2, status: "RESERVED" },
    ]);
    const pending = await test.graphql<Page>(ORDERS, { status: "PENDING" });
    expect(pending.data?.orders.nodes.map((order) => order.id)).toEqual([o3, o1]);
    const reservedPage = await test.graphql<Page>(ORDERS, { status: "RESERVED", first: 1 });
    expect(reservedPage.data?.orders.pageInfo).toEqual({
      startCursor: o4,
      endCursor: o4,
      hasNextPage: true,
      hasPreviousPage: false,
    });
  });

  it("refuses page sizes outside 1..100", async () => {
    const test = await startTestGateway();
    for (const first of [0, -1, 101]) {
      const response = await test.graphql(ORDERS, { first });
      expect(response.errors?.[0]?.extensions?.code, String(first)).toBe("BAD_USER_INPUT");
    }
  });

  it("answers null for an order that does not exist, and shows a placed one", async () => {
    const test = await startTestGateway();
    const missing = await test.graphql<{ order: unknown }>('{ order(id: "01NOPE") { id } }');
    expect(missing.data?.order).toBeNull();
    const [id] = await placeOrders(test, 1);
    const found = await test.graphql<{ order: { id: string; total: unknown; traceUrl: unknown } }>(
      `{ order(id: "${id}") { id total { amountCents currency } traceUrl } }`,
    );
    expect(found.data?.order).toEqual({
      id,
      total: { amountCents: 1299, currency: "USD" },
      traceUrl: null,
    });
  });
});
