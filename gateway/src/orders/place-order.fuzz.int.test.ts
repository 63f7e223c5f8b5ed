import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "../errors.ts";
import { PLACE_ORDER, startTestGateway, type TestGateway } from "../testing/test-gateway.ts";

/**
 * Property-based fuzzing of placeOrder through real HTTP. A failure prints fast-check's seed and
 * path; replay it with `FUZZ_SEED=<seed> npx vitest run gateway/src/orders/place-order.fuzz`.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const settings = {
  numRuns: RUNS,
  ...(SEED === undefined ? {} : { seed: SEED }),
  endOnFailure: true,
};

const SKUS = ["KB-001", "MS-001", "WC-001", "HD-001", "NOPE", ""];

/** Strings of every kind: printable, any code point (lone surrogates too), control characters. */
const anyString = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.string({ unit: fc.integer({ min: 0, max: 31 }).map((code) => String.fromCharCode(code)) }),
  fc.constantFrom("", " ", "\u0000", "tok_visa", "tok_chargeDeclined", "🧨".repeat(40)),
);
/** Strings far beyond every limit, up to 200 kB (the body limit is 1 MB). */
const hugeString = fc
  .tuple(fc.string({ minLength: 1, maxLength: 3 }), fc.integer({ min: 100, max: 100_000 }))
  .map(([unit, times]) => unit.repeat(times));
/** Numbers JSON can carry, and what JSON makes of the others (NaN and ±Infinity become null). */
const anyNumber = fc.oneof(
  fc.integer(),
  fc.integer({ min: -5, max: 1_005 }),
  fc.double(),
  fc.constantFrom(0, -1, 2 ** 31, 2 ** 53, Number.MAX_VALUE, Number.NaN, Number.POSITIVE_INFINITY),
);
const anyScalar = fc.oneof(anyString, anyNumber, fc.boolean(), fc.constant(null));
const anyValue = fc.oneof(
  { weight: 4, arbitrary: anyScalar },
  { weight: 1, arbitrary: hugeString },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

/** An order line: plausible, or anything at all, with unknown fields sometimes. */
const item = fc.oneof(
  fc.record({ sku: fc.constantFrom(...SKUS), quantity: fc.integer({ min: -2, max: 1_002 }) }),
  fc.record({ sku: anyValue, quantity: anyValue, colour: anyValue }, { requiredKeys: [] }),
  anyValue,
);
const items = fc.oneof(
  fc.array(item, { maxLength: 5 }),
  fc.constant([]),
  // Many lines: far more than an order may have.
  fc
    .tuple(
      fc.record({ sku: fc.constantFrom(...SKUS), quantity: fc.oneof(anyNumber, anyString) }),
      fc.integer({ min: 51, max: 3_000 }),
    )
    .map(([line, count]) => Array.from({ length: count }, () => line)),
  anyValue,
);
/** placeOrder's input: every field plausible, wrong, missing, or joined by unknown ones. */
const input = fc.oneof(
  fc.record(
    {
      customerId: fc.oneof(anyString, hugeString, anyValue),
      items,
      paymentToken: fc.oneof(
        anyString,
        fc.constantFrom("tok_visa", "tok_chargeDeclined"),
        anyValue,
      ),
      idempotencyKey: fc.oneof(fc.constantFrom("k1", "k2"), anyString, anyValue),
      unknownField: anyValue,
    },
    { requiredKeys: [] },
  ),
  // Mostly right, so that valid orders are placed among the rest.
  fc.record(
    {
      customerId: fc.constantFrom("fuzz-a", "fuzz-b"),
      items: fc.array(
        fc.record({
          sku: fc.constantFrom(...SKUS.slice(0, 4)),
          quantity: fc.integer({ min: 1, max: 5 }),
        }),
        { minLength: 1, maxLength: 3 },
      ),
      paymentToken: fc.constantFrom("tok_visa", "tok_chargeDeclined"),
      idempotencyKey: fc.constantFrom("k1", "k2", "k3"),
    },
    { requiredKeys: ["customerId", "items"] },
  ),
  anyValue,
);
/** How the request is sent: as variables, as the body of a bad JSON document, inline in the query. */
const request = fc.oneof(
  { weight: 6, arbitrary: input.map((value) => ({ kind: "variables" as const, value })) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(input, fc.constantFrom("NaN", "Infinity", "-", "{", "undefined", "1e999999"))
      .map(([value, junk]) => ({ kind: "raw" as const, value, junk })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(anyString, anyString)
      .map(([customerId, sku]) => ({ kind: "inline" as const, customerId, sku })),
  },
);
type Request = typeof request extends fc.Arbitrary<infer T> ? T : never;

interface Answer {
  status: number;
  body: {
    data?: { placeOrder?: { order?: { id: string; status: string } } | null } | null;
    errors?: Array<{ message: string; extensions?: { code?: string } }>;
  };
}

async function send(test: TestGateway, sent: Request): Promise<Answer> {
  let body: string;
  if (sent.kind === "variables") {
    body = JSON.stringify({ query: PLACE_ORDER, variables: { input: sent.value } });
  } else if (sent.kind === "raw") {
    // A JSON document with a token JSON does not have, where the input would be.
    const valid = JSON.stringify({ query: PLACE_ORDER, variables: { input: "@" } });
    body = valid.replace('"@"', sent.junk);
  } else {
    const literal = (text: string) => JSON.stringify(text);
    body = JSON.stringify({
      query: `mutation { placeOrder(input: { customerId: ${literal(sent.customerId)}, items: [{ sku: ${literal(sent.sku)}, quantity: 1 }] }) { order { id status } } }`,
    });
  }
  const response = await fetch(test.gateway.url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body,
  });
  const text = await response.text();
  let parsed: Answer["body"];
  try {
    parsed = JSON.parse(text) as Answer["body"];
  } catch {
    throw new Error(`not JSON (status ${response.status}): ${text.slice(0, 200)}`);
  }
  return { status: response.status, body: parsed };
}

describe("placeOrder under fuzzing", () => {
  it(
    "never answers 5xx: a valid order, or errors whose codes are all known, and nothing published for them",
    async () => {
      const test = await startTestGateway();
      const known = new Set<string>(ERROR_CODES);
      const placed = new Set<string>();
      let published = 0;
      let counts = { accepted: 0, refused: 0 };

      await fc.assert(
        fc.asyncProperty(request, async (sent) => {
          const answer = await send(test, sent);
          expect(answer.status).toBeLessThan(500);
          const order = answer.body.data?.placeOrder?.order;
          const errors = answer.body.errors ?? [];
          const nowPublished = (await test.streamLengths())["order.created"];
          if (order) {
            expect(errors).toEqual([]);
            expect(order.status).toBe("PENDING");
            // A new order publishes once; an idempotent replay returns the same one, unpublished.
            expect(nowPublished - published).toBe(placed.has(order.id) ? 0 : 1);
            placed.add(order.id);
            counts = { ...counts, accepted: counts.accepted + 1 };
          } else {
            expect(errors.length).toBeGreaterThan(0);
            for (const error of errors) {
              expect(known.has(String(error.extensions?.code)), JSON.stringify(error)).toBe(true);
              expect(error.extensions?.code).not.toBe("INTERNAL_SERVER_ERROR");
              expect(typeof error.message).toBe("string");
            }
            expect(nowPublished).toBe(published);
            counts = { ...counts, refused: counts.refused + 1 };
          }
          published = nowPublished;
        }),
        settings,
      );
      // The run exercised both sides, and the gateway is still serving.
      expect(counts.accepted).toBeGreaterThan(0);
      expect(counts.refused).toBeGreaterThan(0);
      const ready = await fetch(test.gateway.url.replace("/graphql", "/readyz"));
      expect(ready.status).toBe(200);
    },
    Math.max(60_000, RUNS * 100),
  );
});
