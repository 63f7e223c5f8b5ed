import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type Collector,
  collect,
  collectYogaSse,
  EVENT_FIELDS,
  sseClient,
  waitFor,
} from "@conveyor/testkit";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT } from "jose";
import { describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../testing/test-gateway.ts";
import { signToken } from "./sign.ts";

const SECRET = "integration-test-secret-0123456789abcdef";
const ISSUER = "https://id.conveyor.test";
const AUDIENCE = "conveyor-api";
const AUTH_ON = {
  AUTH_MODE: "required",
  AUTH_JWT_SECRET: SECRET,
  AUTH_ISSUER: ISSUER,
  AUTH_AUDIENCE: AUDIENCE,
};

type Caller = "anonymous" | "customer" | "otherCustomer" | "operator";
const CALLERS: readonly Caller[] = ["anonymous", "customer", "otherCustomer", "operator"];

/** A token of the gateway's issuer and audience. */
const tokenFor = (subject: string, extra: Parameters<typeof signToken>[1] | object = {}) =>
  signToken(SECRET, { subject, issuer: ISSUER, audience: AUDIENCE, ...extra });

/** Tokens of each kind of caller: alice (the customer), bob (the other one), an operator. */
async function callerTokens(): Promise<Record<Caller, string | undefined>> {
  return {
    anonymous: undefined,
    customer: await tokenFor("alice"),
    otherCustomer: await tokenFor("bob"),
    operator: await tokenFor("ops-1", { isOperator: true }),
  };
}

interface Answer {
  status: number;
  text: string;
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

/** POSTs an operation to `/graphql` with the given bearer token (or none). */
async function post(
  test: TestGateway,
  query: string,
  variables: Record<string, unknown> = {},
  authorization?: string,
): Promise<Answer> {
  const response = await fetch(test.gateway.url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json",
      ...(authorization !== undefined ? { authorization } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  return { status: response.status, text, ...(JSON.parse(text) as object) };
}

const bearer = (token: string | undefined) => (token ? `Bearer ${token}` : undefined);
const codeOf = (answer: Pick<Answer, "errors">) => answer.errors?.[0]?.extensions?.code;

const PLACE = `mutation Place($customerId: String!) {
  placeOrder(input: { customerId: $customerId, items: [{ sku: "KB-001", quantity: 1 }] }) {
    order { id customerId }
  }
}`;
const ORDER = "query One($id: ID!) { order(id: $id) { id customerId } }";
const ORDERS = "{ orders(first: 100) { totalCount nodes { id customerId } } }";
const RESTOCK = `mutation { restock(input: { sku: "KB-001", quantity: 1 }) { product { sku stock } } }`;
const HEALTH = "{ pipelineHealth { deadLetterCount } }";
const PRODUCTS = "{ products { sku } }";
const VIEWER = "{ viewer { kind id authMode } }";
const ORDER_EVENTS = `subscription Watch($orderId: ID!) { orderEvents(orderId: $orderId) { ${EVENT_FIELDS} } }`;
const EVENTS = `subscription Firehose($after: String) { events(after: $after) { ${EVENT_FIELDS} } }`;

/** Alice's and Bob's orders, placed with their own tokens. */
async function placeOrders(test: TestGateway, tokens: Record<Caller, string | undefined>) {
  const alice = await post(test, PLACE, { customerId: "alice" }, bearer(tokens.customer));
  const bob = await post(test, PLACE, { customerId: "bob" }, bearer(tokens.otherCustomer));
  const idOf = (answer: Answer) =>
    ((answer.data?.placeOrder as { order: { id: string } } | undefined)?.order.id ?? "") as string;
  expect(idOf(alice)).not.toBe("");
  expect(idOf(bob)).not.toBe("");
  return { aliceOrderId: idOf(alice), bobOrderId: idOf(bob) };
}

type Expectation = string | ((answer: Answer) => void);

describe("authorization rules over HTTP (AUTH_MODE=required)", () => {
  it("answers every operation as the rules say, for anonymous, customer, other customer and operator", async () => {
    const test = await startTestGateway(AUTH_ON);
    const tokens = await callerTokens();
    const { aliceOrderId, bobOrderId } = await placeOrders(test, tokens);
    const operatorPlaced = await post(
      test,
      PLACE,
      { customerId: "carol" },
      bearer(tokens.operator),
    );
    expect(operatorPlaced.data).toMatchObject({ placeOrder: { order: { customerId: "carol" } } });

    const ordersOf = (answer: Answer) =>
      (
        (answer.data?.orders as { nodes?: Array<{ customerId: string }> } | undefined)?.nodes ?? []
      ).map((order) => order.customerId);
    const matrix: Array<{
      operation: string;
      query: string;
      variables?: Record<string, unknown>;
      expected: Record<Caller, Expectation>;
    }> = [
      {
        operation: "placeOrder for alice",
        query: PLACE,
        variables: { customerId: "alice" },
        expected: {
          anonymous: "UNAUTHENTICATED",
          customer: (a) =>
            expect(a.data).toMatchObject({ placeOrder: { order: { customerId: "alice" } } }),
          otherCustomer: "FORBIDDEN",
          operator: (a) =>
            expect(a.data).toMatchObject({ placeOrder: { order: { customerId: "alice" } } }),
        },
      },
      {
        operation: "order(alice's)",
        query: ORDER,
        variables: { id: aliceOrderId },
        expected: {
          anonymous: "UNAUTHENTICATED",
          customer: (a) =>
            expect(a.data).toEqual({ order: { id: aliceOrderId, customerId: "alice" } }),
          // Exactly what an order that does not exist answers.
          otherCustomer: (a) => expect([a.data, a.errors]).toEqual([{ order: null }, undefined]),
          operator: (a) =>
            expect(a.data).toEqual({ order: { id: aliceOrderId, customerId: "alice" } }),
        },
      },
      {
        operation: "order(bob's)",
        query: ORDER,
        variables: { id: bobOrderId },
        expected: {
          anonymous: "UNAUTHENTICATED",
          customer: (a) => expect([a.data, a.errors]).toEqual([{ order: null }, undefined]),
          otherCustomer: (a) =>
            expect(a.data).toEqual({ order: { id: bobOrderId, customerId: "bob" } }),
          operator: (a) => expect(a.data).toEqual({ order: { id: bobOrderId, customerId: "bob" } }),
        },
      },
      {
        operation: "orders",
        query: ORDERS,
        expected: {
          anonymous: "UNAUTHENTICATED",
          customer: (a) => expect(new Set(ordersOf(a))).toEqual(new Set(["alice"])),
          otherCustomer: (a) => expect(ordersOf(a)).toEqual(["bob"]),
          operator: (a) => expect(new Set(ordersOf(a))).toEqual(new Set(["alice", "bob", "carol"])),
        },
      },
      {
        operation: "restock",
        query: RESTOCK,
        expected: {
          anonymous: "UNAUTHENTICATED",
          customer: "FORBIDDEN",
          otherCustomer: "FORBIDDEN",
          operator: (a) =>
            expect(a.data).toMatchObject({ restock: { product: { sku: "KB-001" } } }),
        },
      },
      {
        operation: "pipelineHealth",
        query: HEALTH,
        expected: {
          anonymous: "UNAUTHENTICATED",
          customer: "FORBIDDEN",
          otherCustomer: "FORBIDDEN",
          operator: (a) => expect(a.data).toMatchObject({ pipelineHealth: {} }),
        },
      },
      {
        operation: "products",
        query: PRODUCTS,
        expected: {
          anonymous: "UNAUTHENTICATED",
          customer: (a) => expect(a.errors).toBeUndefined(),
          otherCustomer: (a) => expect(a.errors).toBeUndefined(),
          operator: (a) => expect(a.errors).toBeUndefined(),
        },
      },
      {
        operation: "viewer",
        query: VIEWER,
        expected: {
          anonymous: "UNAUTHENTICATED",
          customer: (a) =>
            expect(a.data).toEqual({
              viewer: { kind: "CUSTOMER", id: "alice", authMode: "REQUIRED" },
            }),
          otherCustomer: (a) =>
            expect(a.data).toEqual({
              viewer: { kind: "CUSTOMER", id: "bob", authMode: "REQUIRED" },
            }),
          operator: (a) =>
            expect(a.data).toEqual({
              viewer: { kind: "OPERATOR", id: "ops-1", authMode: "REQUIRED" },
            }),
        },
      },
    ];

    for (const { operation, query, variables, expected } of matrix) {
      for (const caller of CALLERS) {
        const answer = await post(test, query, variables, bearer(tokens[caller]));
        const expectation = expected[caller];
        const label = `${operation} as ${caller}: ${answer.text}`;
        if (typeof expectation === "string") {
          expect(codeOf(answer), label).toBe(expectation);
          expect(answer.status, label).toBe(expectation === "UNAUTHENTICATED" ? 401 : 200);
        } else {
          expect(answer.status, label).toBe(200);
          expectation(answer);
        }
      }
    }
    // A refused placeOrder published nothing: alice's three, bob's one, carol's one.
    expect((await test.streamLengths())["order.created"]).toBe(5);
  });

  it("refuses bad tokens with UNAUTHENTICATED and says nothing of what they contain", async () => {
    const test = await startTestGateway(AUTH_ON);
    const nowSeconds = Math.floor(Date.now() / 1000);
    const bad: Record<string, string> = {
      expired: await tokenFor("alice", { expiresInSeconds: -600 }),
      "not yet valid": await tokenFor("alice", { notBeforeInSeconds: 600 }),
      "wrong issuer": await signToken(SECRET, {
        subject: "alice",
        issuer: "https://evil.test",
        audience: AUDIENCE,
      }),
      "wrong audience": await signToken(SECRET, {
        subject: "alice",
        issuer: ISSUER,
        audience: "other-api",
      }),
      "no issuer or audience": await signToken(SECRET, { subject: "alice" }),
      "wrong signature": await signToken(`${SECRET}-not-it`, {
        subject: "alice",
        issuer: ISSUER,
        audience: AUDIENCE,
      }),
      "alg none": new UnsecuredJWT({
        sub: "alice",
        roles: ["operator"],
        iss: ISSUER,
        aud: AUDIENCE,
        exp: nowSeconds + 600,
      }).encode(),
      "RS256 (the gateway has a secret)": await (async () => {
        const { privateKey } = await generateKeyPair("RS256");
        return new SignJWT({ roles: ["operator"] })
          .setProtectedHeader({ alg: "RS256" })
          .setSubject("alice")
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .setExpirationTime("1h")
          .sign(privateKey);
      })(),
      "not a JWT": "hello-there",
    };
    for (const [name, token] of Object.entries(bad)) {
      for (const authorization of [`Bearer ${token}`, `bearer  ${token}`]) {
        const answer = await post(test, PRODUCTS, {}, authorization);
        expect(answer.status, name).toBe(401);
        expect(codeOf(answer), name).toBe("UNAUTHENTICATED");
        expect(answer.data ?? null, name).toBeNull();
        // Nothing of the token: not itself, not its parts, not its claims.
        for (const part of token.split(".").filter((p) => p.length > 8)) {
          expect(answer.text, name).not.toContain(part);
        }
        expect(answer.text, name).not.toMatch(/alice|evil|other-api|operator/);
      }
    }
    for (const header of ["Basic YWxpY2U6c2VjcmV0", "Bearer", "Token abc.def.ghi", "Bearer a b"]) {
      const answer = await post(test, PRODUCTS, {}, header);
      expect([answer.status, codeOf(answer)], header).toEqual([401, "UNAUTHENTICATED"]);
      expect(answer.text).not.toContain("YWxpY2U6c2VjcmV0");
    }
    const expired = await post(test, PRODUCTS, {}, `Bearer ${bad.expired}`);
    expect(expired.errors?.[0]?.message).toMatch(/expired/);
  });

  it("keeps tokens out of Redis: the order and its order.created entry carry the customer, not the token", async () => {
    const test = await startTestGateway(AUTH_ON);
    const tokens = await callerTokens();
    const { aliceOrderId } = await placeOrders(test, tokens);
    const signature = (tokens.customer ?? "").split(".")[2] ?? "";
    const everything: string[] = [];
    for (const key of await test.redis.keys(`${test.prefix}*`)) {
      const type = await test.redis.type(key);
      if (type === "stream")
        everything.push(JSON.stringify(await test.redis.xrange(key, "-", "+")));
      else if (type === "hash") everything.push(JSON.stringify(await test.redis.hgetall(key)));
      else if (type === "string") everything.push((await test.redis.get(key)) ?? "");
      else if (type === "list")
        everything.push(JSON.stringify(await test.redis.lrange(key, 0, -1)));
    }
    const dump = everything.join("\n");
    expect(dump).toContain(aliceOrderId);
    expect(dump).not.toContain(signature);
    expect(dump).not.toMatch(/Bearer|eyJ/);
  });
});

describe("AUTH_MODE=optional", () => {
  it("lets the anonymous caller read the catalog and the viewer, and nothing of anyone's orders", async () => {
    const test = await startTestGateway({ ...AUTH_ON, AUTH_MODE: "optional" });
    expect((await post(test, PRODUCTS)).errors).toBeUndefined();
    expect((await post(test, VIEWER)).data).toEqual({
      viewer: { kind: "ANONYMOUS", id: null, authMode: "OPTIONAL" },
    });
    for (const query of [ORDERS, RESTOCK, HEALTH]) {
      expect(codeOf(await post(test, query)), query).toBe("UNAUTHENTICATED");
    }
    expect(codeOf(await post(test, PLACE, { customerId: "alice" }))).toBe("UNAUTHENTICATED");
    // A bad token is refused even where no token is needed.
    const forged = await signToken(`${SECRET}-forged`, {
      subject: "a",
      issuer: ISSUER,
      audience: AUDIENCE,
    });
    expect(codeOf(await post(test, PRODUCTS, {}, `Bearer ${forged}`))).toBe("UNAUTHENTICATED");
    const customer = await tokenFor("alice");
    expect(codeOf(await post(test, RESTOCK, {}, `Bearer ${customer}`))).toBe("FORBIDDEN");
  });
});

describe("AUTH_MODE=off (the development default)", () => {
  it("lets anyone do everything, and reads no Authorization header", async () => {
    const test = await startTestGateway({ NODE_ENV: "development", AUTH_MODE: "" });
    for (const header of [undefined, "Bearer not-a-token", "Basic abc"]) {
      const placed = await post(test, PLACE, { customerId: "anyone" }, header);
      expect(placed.data, header).toMatchObject({
        placeOrder: { order: { customerId: "anyone" } },
      });
      for (const query of [ORDERS, RESTOCK, HEALTH, PRODUCTS]) {
        expect((await post(test, query, {}, header)).errors, query).toBeUndefined();
      }
    }
    expect((await post(test, VIEWER)).data).toEqual({
      viewer: { kind: "OPERATOR", id: null, authMode: "OFF" },
    });
  });
});

describe("RS256/ES256 tokens from AUTH_JWKS_URL", () => {
  it("accepts the provider's tokens and refuses HS256 ones signed with its public key", async () => {
    const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256", use: "sig" };
    const jwks = createServer((_request, response) => {
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
      const test = await startTestGateway({ AUTH_MODE: "required", AUTH_JWKS_URL: url });
      const operator = await new SignJWT({ roles: ["operator"] })
        .setProtectedHeader({ alg: "RS256", kid: "k1" })
        .setSubject("ops-rsa")
        .setExpirationTime("10m")
        .sign(privateKey);
      expect((await post(test, HEALTH, {}, `Bearer ${operator}`)).errors).toBeUndefined();
      const forged = await new SignJWT({ roles: ["operator"] })
        .setProtectedHeader({ alg: "HS256", kid: "k1" })
        .setSubject("mallory")
        .setExpirationTime("10m")
        .sign(new TextEncoder().encode(await exportSPKI(publicKey)));
      const answer = await post(test, HEALTH, {}, `Bearer ${forged}`);
      expect([answer.status, codeOf(answer)]).toEqual([401, "UNAUTHENTICATED"]);
    } finally {
      await new Promise<void>((resolve) => jwks.close(() => resolve()));
    }
  });
});

type Transport = "graphql-sse distinct" | "graphql-sse single" | "Yoga SSE";
const TRANSPORTS: readonly Transport[] = ["graphql-sse distinct", "graphql-sse single", "Yoga SSE"];

function subscribe(
  test: TestGateway,
  transport: Transport,
  query: string,
  variables: Record<string, unknown>,
  token: string | undefined,
): Collector {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  if (transport === "Yoga SSE") return collectYogaSse(test.gateway.url, query, variables, headers);
  const client = sseClient(test.gateway.streamUrl, transport === "graphql-sse single", headers);
  return collect(client, query, variables);
}

/** The first result a subscription got: an event, or its error's code. */
async function firstOutcome(collector: Collector): Promise<string> {
  const result = await waitFor("a first result", () => collector.results[0]);
  const code = (result.errors?.[0] as { extensions?: { code?: string } } | undefined)?.extensions
    ?.code;
  if (code) return code;
  const event = Object.values(result.data ?? {})[0] as { type?: string } | undefined;
  return event?.type ?? JSON.stringify(result);
}

describe.each(TRANSPORTS)("subscription rules over %s", (transport) => {
  it("lets a customer watch its own order only, and operators the firehose", async () => {
    const test = await startTestGateway(AUTH_ON);
    const tokens = await callerTokens();
    const { aliceOrderId } = await placeOrders(test, tokens);
    const expected: Record<Caller, { orderEvents: string; events: string }> = {
      anonymous: { orderEvents: "UNAUTHENTICATED", events: "UNAUTHENTICATED" },
      customer: { orderEvents: "order.created", events: "FORBIDDEN" },
      otherCustomer: { orderEvents: "NOT_FOUND", events: "FORBIDDEN" },
      operator: { orderEvents: "order.created", events: "order.created" },
    };
    for (const caller of CALLERS) {
      const watch = subscribe(
        test,
        transport,
        ORDER_EVENTS,
        { orderId: aliceOrderId },
        tokens[caller],
      );
      const firehose = subscribe(test, transport, EVENTS, { after: "0-0" }, tokens[caller]);
      const outcomes = {
        orderEvents: await firstOutcome(watch),
        events: await firstOutcome(firehose),
      };
      expect(outcomes, caller).toEqual(expected[caller]);
      // A refused subscription ends there; an allowed one stays open.
      if (expected[caller].orderEvents !== "order.created") {
        await waitFor("the refused subscription to end", () => watch.isDone);
      }
      expect(watch.isDone).toBe(expected[caller].orderEvents !== "order.created");
      watch.dispose();
      firehose.dispose();
    }
    // An order that does not exist is refused to a customer exactly like another's.
    const ghost = subscribe(
      test,
      transport,
      ORDER_EVENTS,
      { orderId: "01NOTANORDER" },
      tokens.customer,
    );
    expect(await firstOutcome(ghost)).toBe("NOT_FOUND");
  });

  it("refuses a bad token with UNAUTHENTICATED", async () => {
    const test = await startTestGateway(AUTH_ON);
    const forged = await signToken(`${SECRET}-forged`, {
      subject: "ops",
      isOperator: true,
      issuer: ISSUER,
      audience: AUDIENCE,
    });
    const expired = await tokenFor("ops", { isOperator: true, expiresInSeconds: -600 });
    for (const token of [forged, expired]) {
      const firehose = subscribe(test, transport, EVENTS, { after: "0-0" }, token);
      expect(await firstOutcome(firehose)).toBe("UNAUTHENTICATED");
      expect(firehose.results[0]?.errors?.[0]?.extensions).toEqual({ code: "UNAUTHENTICATED" });
      expect(JSON.stringify(firehose.results)).not.toContain(token.split(".")[2]);
    }
  });

  it("ends a subscription with UNAUTHENTICATED when its token expires", async () => {
    const test = await startTestGateway({ ...AUTH_ON, AUTH_CLOCK_SKEW_SECONDS: "0" });
    const tokens = await callerTokens();
    const { aliceOrderId } = await placeOrders(test, tokens);
    const shortLived = await tokenFor("alice", { expiresInSeconds: 2 });
    const startedAt = Date.now();
    const watch = subscribe(test, transport, ORDER_EVENTS, { orderId: aliceOrderId }, shortLived);
    expect(await firstOutcome(watch)).toBe("order.created");
    // A long-lived subscriber on the same gateway is not affected.
    const operator = subscribe(test, transport, EVENTS, { after: "0-0" }, tokens.operator);
    expect(await firstOutcome(operator)).toBe("order.created");

    await waitFor("the subscription to end", () => watch.isDone, 8_000);
    const endedAfterMs = Date.now() - startedAt;
    expect(endedAfterMs).toBeGreaterThan(500);
    expect(endedAfterMs).toBeLessThan(6_000);
    const last = watch.results.at(-1);
    expect(last?.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/expired/),
      extensions: { code: "UNAUTHENTICATED" },
    });
    expect(operator.isDone).toBe(false);
  });
});
