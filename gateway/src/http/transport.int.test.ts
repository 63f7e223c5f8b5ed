import { request as httpRequest } from "node:http";
import { describe, expect, it } from "vitest";
import { startTestGateway } from "../testing/test-gateway.ts";

const INTROSPECTION = "{ __schema { queryType { name } } }";

describe("HTTP transport", () => {
  it("answers a malformed JSON body with 400 and keeps serving", async () => {
    const test = await startTestGateway();
    const response = await fetch(test.gateway.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"query": "{ products { sku } }"',
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { errors: Array<{ message: string }> };
    expect(body.errors[0]?.message).toMatch(/JSON/i);
    const after = await test.graphql<{ products: unknown[] }>("{ products { sku } }");
    expect(after.data?.products).toHaveLength(8);
  });

  it("answers bodies that are not one operation with BAD_REQUEST and keeps serving", async () => {
    const test = await startTestGateway();
    for (const body of ["[1, 2]", '"query"', "{}", "", "null"]) {
      const response = await fetch(test.gateway.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      expect(response.status, body).toBeLessThan(500);
      const answer = (await response.json()) as { errors: Array<{ extensions: { code: string } }> };
      expect(answer.errors[0]?.extensions.code, body).toBe("BAD_REQUEST");
    }
    const after = await test.graphql<{ products: unknown[] }>("{ products { sku } }");
    expect(after.data?.products).toHaveLength(8);
  });

  it("answers unknown fields and a syntax error with a GraphQL error and a code", async () => {
    const test = await startTestGateway();
    const unknown = await test.graphql("{ products { sku colour } }");
    expect(unknown.data ?? null).toBeNull();
    expect(unknown.errors?.[0]?.message).toMatch(/colour/);
    expect(unknown.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    const syntax = await test.graphql("{ products { sku ");
    expect(syntax.errors?.[0]?.extensions?.code).toBe("GRAPHQL_PARSE_FAILED");
    const unknownArgument = await test.graphql('{ order(id: "x", colour: "red") { id } }');
    expect(unknownArgument.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
  });

  it("refuses a body larger than the limit", async () => {
    const test = await startTestGateway({ MAX_REQUEST_BODY_BYTES: "1000" });
    const response = await fetch(test.gateway.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: `{ products { sku } } #${"x".repeat(2000)}` }),
    });
    expect(response.status).toBe(413);
  });

  it("counts a chunked body (no Content-Length) as it arrives: a small one runs, a large one is refused", async () => {
    const test = await startTestGateway({ MAX_REQUEST_BODY_BYTES: "1000" });
    const post = (body: string) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const request = httpRequest(test.gateway.url, {
          method: "POST",
          headers: { "content-type": "application/json", "transfer-encoding": "chunked" },
        });
        request.on("error", reject);
        request.on("response", (response) => {
          let text = "";
          response.on("data", (chunk: Buffer) => {
            text += chunk.toString("utf8");
          });
          response.on("end", () => resolve({ status: response.statusCode ?? 0, text }));
        });
        for (let at = 0; at < body.length; at += 300) request.write(body.slice(at, at + 300));
        request.end();
      });
    const small = await post(JSON.stringify({ query: "{ products { sku } }" }));
    expect(small.status).toBe(200);
    expect(JSON.parse(small.text).data.products.length).toBeGreaterThan(0);
    const large = await post(
      JSON.stringify({ query: `{ products { sku } } #${"x".repeat(2000)}` }),
    );
    expect(large.status).toBe(413);
  });

  it("serves /healthz and /readyz on the GraphQL port", async () => {
    const test = await startTestGateway();
    const base = test.gateway.url.replace("/graphql", "");
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready", projector: true, feed: true });
  });

  it("serves GraphiQL and introspection in development", async () => {
    const test = await startTestGateway({ NODE_ENV: "development" });
    const page = await fetch(test.gateway.url, { headers: { accept: "text/html" } });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/GraphiQL/i);
    const introspection = await test.graphql(INTROSPECTION);
    expect(introspection.data).toEqual({ __schema: { queryType: { name: "Query" } } });
  });

  it("in production turns GraphiQL and introspection off and masks unexpected errors", async () => {
    const test = await startTestGateway({ NODE_ENV: "production" });
    const page = await fetch(test.gateway.url, { headers: { accept: "text/html" } });
    expect(await page.text()).not.toMatch(/GraphiQL/i);

    const introspection = await test.graphql(INTROSPECTION);
    expect(introspection.data ?? null).toBeNull();
    expect(introspection.errors?.[0]?.message).toMatch(/introspection/);
    expect((await test.graphql("{ __typename }")).data).toEqual({ __typename: "Query" });

    // A corrupt read-model entry makes the resolver fail unexpectedly.
    await test.redis.hset(test.keys.order("BROKEN"), {
      id: "BROKEN",
      status: "PENDING",
      customerId: "c",
      items: "not json",
    });
    const broken = await test.graphql('{ order(id: "BROKEN") { id } }');
    expect(broken.errors?.[0]).toEqual(
      expect.objectContaining({
        message: "Unexpected error.",
        extensions: { code: "INTERNAL_SERVER_ERROR" },
      }),
    );
    expect(JSON.stringify(broken)).not.toMatch(/JSON|not json|stack/);

    // Known errors keep their message and code.
    const known = await test.graphql(
      'mutation { restock(input: { sku: "NOPE", quantity: 1 }) { product { sku } } }',
    );
    expect(known.errors?.[0]?.extensions?.code).toBe("UNKNOWN_SKU");
  });
});
