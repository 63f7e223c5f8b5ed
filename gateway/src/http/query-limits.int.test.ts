import { collect, sseClient, waitFor } from "@conveyor/testkit";
import type { DocumentNode } from "graphql";
import { print } from "graphql";
import { describe, expect, it } from "vitest";
import { PLACE_ORDER, startTestGateway, type TestGateway } from "../testing/test-gateway.ts";

/** `{ a0: products { sku } a1: … }`: `count` aliases. */
function aliases(count: number): string {
  return `{ ${Array.from({ length: count }, (_, i) => `a${i}: products { sku }`).join(" ")} }`;
}

function expectTooComplex(
  response: Awaited<ReturnType<TestGateway["graphql"]>>,
  limit: string,
  message: RegExp,
): void {
  expect(response.data ?? null).toBeNull();
  expect(response.errors).toHaveLength(1);
  expect(response.errors?.[0]?.extensions).toEqual({ code: "QUERY_TOO_COMPLEX", limit });
  expect(response.errors?.[0]?.message).toMatch(message);
  expect(response.errors?.[0]?.message).not.toMatch(/Syntax Error/);
}

describe("query limits", () => {
  it("refuses an operation over each limit with QUERY_TOO_COMPLEX, naming the limit", async () => {
    const test = await startTestGateway({ NODE_ENV: "production" });

    // Depth: with MAX_QUERY_DEPTH=3 below; here the defaults (30 aliases, 2000 tokens, 20 directives).
    expectTooComplex(await test.graphql(aliases(31)), "aliases", /Aliases limit of 30/);
    expect((await test.graphql(aliases(30))).errors).toBeUndefined();

    const tokens = `{ products { ${"sku ".repeat(2_000)} } }`;
    expectTooComplex(await test.graphql(tokens), "tokens", /Token limit of 2000/);

    const directives = `{ products { ${"sku @include(if: true) ".repeat(21)} } }`;
    expectTooComplex(await test.graphql(directives), "directives", /Directives limit of 20/);

    // Cost: 1 per scalar, 2 per object, ×1.5 per level, × a literal `first`.
    const costly = `{ orders(first: 100) { nodes {
      id status customerId createdAt updatedAt failureReason total { amountCents currency }
      items { sku quantity unitPrice { amountCents currency } }
    } } }`;
    expectTooComplex(await test.graphql(costly), "cost", /Cost limit of 5000/);
    expect((await test.graphql(costly.replace("100", "10"))).errors).toBeUndefined();

    // Nothing ran: the refused mutation published nothing.
    const place = `mutation { ${Array.from(
      { length: 31 },
      (_, i) =>
        `o${i}: placeOrder(input: { customerId: "c", items: [{ sku: "KB-001", quantity: 1 }] }) { order { id } }`,
    ).join(" ")} }`;
    expectTooComplex(await test.graphql(place), "aliases", /Aliases/);
    expect((await test.streamLengths())["order.created"]).toBe(0);
  });

  it("counts depth without fragment levels and refuses one level too deep", async () => {
    const test = await startTestGateway({ MAX_QUERY_DEPTH: "3" });
    const deep = '{ order(id: "x") { items { unitPrice { amountCents } } } }';
    expectTooComplex(await test.graphql(deep), "depth", /depth limit of 3 exceeded, found 4/);
    const withFragment = `{ order(id: "x") { items { ...Line } } } fragment Line on OrderItem { sku }`;
    expect((await test.graphql(withFragment)).errors).toBeUndefined();
  });

  it("turns a limit off with 0", async () => {
    const test = await startTestGateway({ MAX_QUERY_ALIASES: "0" });
    expect((await test.graphql(aliases(100))).errors).toBeUndefined();
  });

  it.each([
    ["distinct connections", false],
    ["single connection", true],
  ])(
    "bounds operations over graphql-sse too, answered as a result (%s)",
    async (_mode, isSingle) => {
      const test = await startTestGateway({ MAX_QUERY_DEPTH: "1", MAX_QUERY_TOKENS: "12" });
      const client = sseClient(test.gateway.streamUrl, isSingle);
      const deep = collect(client, 'subscription { orderEvents(orderId: "x") { id } }');
      await deep.done;
      expect(deep.results).toEqual([
        {
          data: null,
          errors: [
            {
              message: "Query depth limit of 1 exceeded, found 2. Simplify the operation.",
              extensions: { code: "QUERY_TOO_COMPLEX", limit: "depth" },
            },
          ],
        },
      ]);
      const long = collect(client, `{ products { ${"sku ".repeat(20)} } }`);
      await long.done;
      expect(long.results[0]?.errors?.[0]?.extensions).toEqual({
        code: "QUERY_TOO_COMPLEX",
        limit: "tokens",
      });
    },
  );

  it("answers a document that does not parse over graphql-sse with its code, not a 500", async () => {
    const test = await startTestGateway({ NODE_ENV: "production" });
    const response = await fetch(test.gateway.streamUrl, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ query: "subscription { events(" }),
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain('"code":"GRAPHQL_PARSE_FAILED"');
    expect(text).not.toMatch(/\bat |node_modules|stack/);
  });

  it("lets every operation of the dashboard through the default limits", async () => {
    const test = await startTestGateway({ NODE_ENV: "production" });
    // Loaded at run time, not type-checked from here: the dashboard has its own tsconfig.
    const operationsUrl = new URL("../../../web/src/operations.ts", import.meta.url).href;
    const documents = Object.entries(
      (await import(/* @vite-ignore */ operationsUrl)) as Record<string, unknown>,
    ).flatMap(([name, value]) => {
      const document = value as DocumentNode;
      const operation = document?.definitions?.find(
        (definition) => definition.kind === "OperationDefinition",
      );
      return operation && operation.kind === "OperationDefinition"
        ? [{ name, kind: operation.operation, text: print(document) }]
        : [];
    });
    expect(documents.map((document) => document.name).sort()).toEqual(
      expect.arrayContaining(["CatalogQuery", "OrdersQuery", "PlaceOrderMutation"]),
    );

    const placed = await test.graphql<{ placeOrder: { order: { id: string } } }>(PLACE_ORDER, {
      input: { customerId: "dash", items: [{ sku: "KB-001", quantity: 1 }] },
    });
    const orderId = placed.data?.placeOrder.order.id as string;
    // A dead letter for the dashboard's "Redeliver" to send back.
    const deadLetterId = (await test.redis.xadd(
      test.keys.partition(0).deadLetter,
      "*",
      ...[
        "reason",
        "test",
        "stream",
        test.keys.partition(0).stream("order.created"),
        "entryId",
        "1-0",
      ],
      ...["group", "inventory", "fields", JSON.stringify({ type: "order.created" })],
    )) as string;
    const variables: Record<string, Record<string, unknown>> = {
      PlaceOrderMutation: {
        input: { customerId: "dash", items: [{ sku: "KB-001", quantity: 1 }] },
      },
      RestockMutation: { input: { sku: "KB-001", quantity: 1 } },
      DeadLettersQuery: { first: 10 },
      RedeliverDeadLetterMutation: { id: deadLetterId },
      OrderQuery: { id: orderId },
      OrdersQuery: { first: 20 },
      OrderEventsSubscription: { orderId },
      EventsSubscription: {},
    };
    const client = sseClient(test.gateway.streamUrl, false);
    for (const document of documents) {
      if (document.kind === "subscription") {
        // Accepted subscriptions stay open: the order's history arrives, or nothing (live only).
        const subscription = collect(client, document.text, variables[document.name] ?? {});
        await waitFor(`${document.name} to be accepted`, async () => {
          if (subscription.results.some((result) => result.errors)) {
            throw new Error(`${document.name}: ${JSON.stringify(subscription.results)}`);
          }
          return document.name === "EventsSubscription" || subscription.events.length > 0;
        });
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(subscription.results.filter((result) => result.errors)).toEqual([]);
        subscription.dispose();
        continue;
      }
      const response = await test.graphql(document.text, variables[document.name] ?? {});
      expect(response.errors, document.name).toBeUndefined();
    }
  });
});

describe("field suggestions", () => {
  it("are hidden in production and shown in development", async () => {
    const production = await startTestGateway({ NODE_ENV: "production" });
    const hidden = await production.graphql("{ products { skus } }");
    expect(hidden.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(hidden.errors?.[0]?.message).toBe('Cannot query field "skus" on type "Product".');

    const development = await startTestGateway({ NODE_ENV: "development" });
    const shown = await development.graphql("{ products { skus } }");
    expect(shown.errors?.[0]?.message).toMatch(/Did you mean "sku"\?/);
  });
});
