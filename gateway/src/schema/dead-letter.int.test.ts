import {
  createKeys,
  encodeEvent,
  fieldsToRecord,
  idInPartition,
  type Keys,
} from "@conveyor/contract";
import { orderCreated, publishEvent, uniquePrefix } from "@conveyor/testkit";
import { graphql } from "graphql";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import type { AuthIdentity } from "../auth/identity.ts";
import { type GatewayContext, type GatewayServices, schema } from "./index.ts";

const redis = new Redis(inject("redisUrl"));
afterAll(() => redis.disconnect());

const OPERATOR: AuthIdentity = { kind: "operator", subject: "test-operator" };

/**
 * Runs an operation on the gateway's schema, as an operator unless `auth` says otherwise. The
 * dead-letter fields use only `redis` and `keys` of the services, so the test needs no whole
 * gateway.
 */
async function run<TData = Record<string, unknown>>(
  keys: Keys,
  source: string,
  variableValues?: Record<string, unknown>,
  auth = OPERATOR,
) {
  const contextValue: GatewayContext = {
    services: { redis, keys } as GatewayServices,
    auth,
    clientAddress: "127.0.0.1",
  };
  const result = await graphql({ schema, source, variableValues, contextValue });
  return {
    data: result.data as TData | null | undefined,
    codes: result.errors?.map((error) => error.extensions.code) ?? [],
  };
}

/** An order id of `label` that falls in partition `partition` of `keys`. */
function orderIn(keys: Keys, partition: number, label: string): string {
  let draws = 0;
  const next = () => {
    draws += 1;
    return `${label}-${draws}`;
  };
  return idInPartition(next, partition, keys.partitions.length);
}

/** Publishes an order's `order.created` and dead-letters it as inventory would. */
async function deadLettered(keys: Keys, orderId: string, reason: string): Promise<void> {
  const event = orderCreated({ orderId });
  const entryId = await publishEvent(redis, keys, event);
  const partition = keys.forOrder(orderId);
  await redis.xadd(
    partition.deadLetter,
    "*",
    ...["reason", reason, "stream", partition.stream("order.created"), "entryId", entryId],
    ...["group", "inventory", "consumer", "inv-1", "deliveries", "5", "orderId", orderId],
    ...["fields", JSON.stringify(fieldsToRecord(encodeEvent(event)))],
  );
  // Dead letters of two partitions written in one millisecond would sort by partition.
  await new Promise((resolve) => setTimeout(resolve, 2));
}

interface Node {
  id: string;
  orderId: string;
  stream: string;
}

interface Page {
  deadLetters: {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    nodes: Node[];
  };
}

const PAGE = /* GraphQL */ `
  query ($after: String) {
    deadLetters(first: 2, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { id orderId stream }
    }
  }
`;

describe.each([
  { partitionCount: 1, idFormat: /^\d+-\d+$/, placed: [0, 0, 0, 0, 0] },
  { partitionCount: 4, idFormat: /^[0-3]\/\d+-\d+$/, placed: [1, 3, 0, 3, 2] },
])("dead letters with $partitionCount partition(s)", ({ partitionCount, idFormat, placed }) => {
  it("lists every partition's newest first, a page at a time, and redelivers them", async () => {
    const keys = createKeys(uniquePrefix("gw-dl"), partitionCount);
    const orders = placed.map((partition, n) => orderIn(keys, partition, `o-${n}`));
    for (const [n, orderId] of orders.entries()) {
      await deadLettered(keys, orderId, n === 1 ? "invalid" : "not processed after 5 deliveries");
    }

    const nodes: Node[] = [];
    let after: string | null = null;
    for (;;) {
      const response: { data: Page | null | undefined } = await run<Page>(keys, PAGE, { after });
      const page = response.data?.deadLetters;
      expect(page?.totalCount).toBe(5);
      nodes.push(...(page?.nodes ?? []));
      if (!page?.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(nodes.map((node) => node.orderId)).toEqual([...orders].reverse());
    for (const node of nodes) {
      expect(node.id).toMatch(idFormat);
      expect(node.stream).toBe("order.created");
      if (partitionCount > 1) {
        expect(node.id.split("/")[0]).toBe(String(keys.forOrder(node.orderId).index));
      }
    }

    const [newest] = nodes as [Node];
    const one = await run(keys, "query ($id: ID!) { deadLetter(id: $id) { orderId } }", {
      id: newest.id,
    });
    expect(one.data?.deadLetter).toEqual({ orderId: newest.orderId });
    const REDELIVER = "mutation ($id: ID!) { redeliverDeadLetter(id: $id) { entryId } }";
    const redelivered = await run<{ redeliverDeadLetter: { entryId: string } }>(keys, REDELIVER, {
      id: newest.id,
    });
    const entryId = redelivered.data?.redeliverDeadLetter.entryId as string;
    const stream = keys.forOrder(newest.orderId).stream("order.created");
    expect(await redis.xrange(stream, entryId, entryId)).toHaveLength(1);
    expect((await run(keys, REDELIVER, { id: newest.id })).codes).toEqual(["NOT_FOUND"]);

    const bulk = await run(
      keys,
      `mutation { redeliverDeadLetters(filter: { reasonContains: "deliveries" }) {
        redeliveredCount redelivered { deadLetter { orderId } }
      } }`,
    );
    expect(bulk.data?.redeliverDeadLetters).toEqual({
      redeliveredCount: 3,
      redelivered: [orders[0], orders[2], orders[3]].map((orderId) => ({
        deadLetter: { orderId },
      })),
    });
    const left = (await run<Page>(keys, PAGE)).data?.deadLetters;
    expect(left?.nodes.map((node) => node.orderId)).toEqual([orders[1]]);
  });
});

describe("dead letter ids", () => {
  it.each([
    { partitionCount: 1, id: "0/1700000000000-0" },
    { partitionCount: 1, id: "1700000000000" },
    { partitionCount: 4, id: "1700000000000-0" },
    { partitionCount: 4, id: "4/1700000000000-0" },
    { partitionCount: 4, id: "01/1700000000000-0" },
  ])(
    "refuses $id with $partitionCount partition(s) as BAD_USER_INPUT",
    async ({ partitionCount, id }) => {
      const keys = createKeys(uniquePrefix("gw-dl-ids"), partitionCount);
      const operations = [
        "query ($id: ID!) { deadLetter(id: $id) { id } }",
        "query ($id: String) { deadLetters(after: $id) { totalCount } }",
        "mutation ($id: ID!) { redeliverDeadLetter(id: $id) { entryId } }",
      ];
      for (const operation of operations) {
        expect((await run(keys, operation, { id })).codes, operation).toEqual(["BAD_USER_INPUT"]);
      }
    },
  );
});

describe("dead letters' authorization", () => {
  it.each([
    { caller: { kind: "customer", customerId: "customer-1" }, code: "FORBIDDEN" },
    { caller: { kind: "anonymous" }, code: "UNAUTHENTICATED" },
  ] as const)(
    "refuses every dead-letter field to the $caller.kind with $code",
    async ({ caller, code }) => {
      const keys = createKeys(uniquePrefix("gw-dl-auth"), 4);
      const orderId = orderIn(keys, 2, "o-auth");
      await deadLettered(keys, orderId, "not processed after 5 deliveries");
      const [letter] = (await run<Page>(keys, PAGE)).data?.deadLetters.nodes ?? [];
      const operations = [
        "query ($id: ID!) { deadLetter(id: $id) { id } }",
        "query { deadLetters { totalCount } }",
        "mutation ($id: ID!) { redeliverDeadLetter(id: $id) { entryId } }",
        "mutation { redeliverDeadLetters(filter: {}) { redeliveredCount } }",
      ];
      for (const operation of operations) {
        const result = await run(keys, operation, { id: letter?.id }, caller);
        expect(result.codes, operation).toEqual([code]);
      }
      expect(await redis.xlen(keys.partition(2).deadLetter)).toBe(1);
      expect(await redis.xlen(keys.partition(2).stream("order.created"))).toBe(1);
    },
  );
});
