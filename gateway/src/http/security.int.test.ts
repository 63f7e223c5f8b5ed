import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { collect, collectYogaSse, publishEvent, sseClient } from "@conveyor/testkit";
import { describe, expect, it, onTestFinished } from "vitest";
import { eventsOf, testOrderId } from "../testing/events.ts";
import { startTestGateway } from "../testing/test-gateway.ts";
import {
  DASHBOARD_CONTENT_SECURITY_POLICY,
  GRAPHIQL_CONTENT_SECURITY_POLICY,
} from "./security-headers.ts";

/** A dashboard build of one page, so that the static-file path is served whatever web/dist holds. */
async function fakeDashboard(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "conveyor-web-"));
  await writeFile(join(dir, "index.html"), "<!doctype html><title>Conveyor</title>");
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Sends raw bytes and resolves what the server answered when it closed the connection. */
function rawExchange(
  port: number,
  bytes: string,
): Promise<{ answer: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(port, "127.0.0.1", () => socket.write(bytes));
    let answer = "";
    socket.setEncoding("utf8").on("data", (chunk: string) => {
      answer += chunk;
    });
    socket.on("error", reject);
    socket.on("close", () => resolve({ answer, closedAfterMs: Date.now() - started }));
    onTestFinished(() => {
      socket.destroy();
    });
  });
}

describe("security headers", () => {
  it("are on every response: dashboard, GraphQL, health, unknown paths", async () => {
    const test = await startTestGateway({ WEB_DIST_DIR: await fakeDashboard() });
    const base = test.gateway.url.replace("/graphql", "");
    const responses = await Promise.all([
      fetch(`${base}/`),
      fetch(`${base}/orders/123`),
      fetch(test.gateway.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: "{ __typename }" }),
      }),
      fetch(`${base}/healthz`),
      fetch(`${base}/readyz`),
      fetch(`${base}/nope`, { method: "POST" }),
    ]);
    for (const response of responses) {
      expect(response.headers.get("x-content-type-options"), response.url).toBe("nosniff");
      expect(response.headers.get("referrer-policy")).toBe("no-referrer");
      expect(response.headers.get("x-frame-options")).toBe("DENY");
      expect(response.headers.get("content-security-policy")).toBe(
        DASHBOARD_CONTENT_SECURITY_POLICY,
      );
      expect(response.headers.get("strict-transport-security")).toBeNull();
    }
    expect(await responses[0]?.text()).toContain("<title>Conveyor</title>");
  });

  it("add strict-transport-security only when configured, and take a custom policy", async () => {
    const test = await startTestGateway({
      HSTS_MAX_AGE_SECONDS: "31536000",
      CONTENT_SECURITY_POLICY: "default-src 'none'",
    });
    const response = await fetch(test.gateway.url.replace("/graphql", "/healthz"));
    expect(response.headers.get("strict-transport-security")).toBe(
      "max-age=31536000; includeSubDomains",
    );
    expect(response.headers.get("content-security-policy")).toBe("default-src 'none'");
  });

  it("give GraphiQL's page a same-origin policy with no inline script, still not framable", async () => {
    const test = await startTestGateway({ NODE_ENV: "development" });
    const page = await fetch(test.gateway.url, { headers: { accept: "text/html" } });
    expect(await page.text()).toMatch(/GraphiQL/i);
    expect(page.headers.get("content-security-policy")).toBe(GRAPHIQL_CONTENT_SECURITY_POLICY);
    expect(GRAPHIQL_CONTENT_SECURITY_POLICY).toContain("script-src 'self';");
    expect(GRAPHIQL_CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
    expect(page.headers.get("x-frame-options")).toBe("DENY");
  });
});

describe("CORS", () => {
  const preflight = (url: string, origin: string) =>
    fetch(url, {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
    });
  const post = (url: string, origin: string) =>
    fetch(url, {
      method: "POST",
      headers: { origin, "content-type": "application/json" },
      body: JSON.stringify({ query: "{ __typename }" }),
    });

  it("allows any origin in development", async () => {
    const test = await startTestGateway({ NODE_ENV: "development" });
    const answer = await preflight(test.gateway.url, "http://localhost:5173");
    expect(answer.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
  });

  it("allows no other origin in production by default (same origin only)", async () => {
    const test = await startTestGateway({ NODE_ENV: "production" });
    const answer = await preflight(test.gateway.url, "https://evil.example");
    expect(answer.headers.get("access-control-allow-origin")).toBeNull();
    const response = await post(test.gateway.url, "https://evil.example");
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
    // Same-origin requests need no CORS headers and still work.
    expect((await test.graphql("{ __typename }")).data).toEqual({ __typename: "Query" });
  });

  it("allows exactly the origins of CORS_ORIGINS", async () => {
    const test = await startTestGateway({
      NODE_ENV: "production",
      CORS_ORIGINS: "https://shop.example, https://admin.example",
    });
    for (const origin of ["https://shop.example", "https://admin.example"]) {
      const answer = await preflight(test.gateway.url, origin);
      expect(answer.status).toBe(204);
      expect(answer.headers.get("access-control-allow-origin")).toBe(origin);
      expect(answer.headers.get("access-control-allow-credentials")).toBeNull();
      const response = await post(test.gateway.url, origin);
      expect(response.headers.get("access-control-allow-origin")).toBe(origin);
    }
    const refused = await preflight(test.gateway.url, "https://evil.example");
    expect(refused.headers.get("access-control-allow-origin")).not.toBe("https://evil.example");
    const streamPreflight = await preflight(test.gateway.streamUrl, "https://shop.example");
    expect(streamPreflight.headers.get("access-control-allow-origin")).toBe("https://shop.example");
  });
});

describe("timeouts", () => {
  it("closes a connection that sends its headers too slowly", async () => {
    const test = await startTestGateway({ HEADERS_TIMEOUT_MS: "500", REQUEST_TIMEOUT_MS: "1000" });
    const { answer, closedAfterMs } = await rawExchange(
      test.gateway.port,
      "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\n",
    );
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(closedAfterMs).toBeLessThan(5_000);
  });

  it("closes a request whose body never finishes arriving", async () => {
    const test = await startTestGateway({ HEADERS_TIMEOUT_MS: "500", REQUEST_TIMEOUT_MS: "1000" });
    const { answer, closedAfterMs } = await rawExchange(
      test.gateway.port,
      "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n" +
        'content-length: 100\r\n\r\n{"query":',
    );
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(closedAfterMs).toBeGreaterThanOrEqual(900);
    expect(closedAfterMs).toBeLessThan(5_000);
  });

  it("never cuts a subscription stream, however long it outlives the request timeout", async () => {
    const test = await startTestGateway({ HEADERS_TIMEOUT_MS: "300", REQUEST_TIMEOUT_MS: "500" });
    const orderId = testOrderId();
    const query = `subscription { orderEvents(orderId: "${orderId}") { id type } }`;
    const streams = [
      collectYogaSse(test.gateway.url, query),
      collect(sseClient(test.gateway.streamUrl, false), query),
      collect(sseClient(test.gateway.streamUrl, true), query),
    ];
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    await publishEvent(test.redis, test.keys, eventsOf(orderId).created());
    for (const stream of streams) {
      await expect.poll(() => stream.events.length, { timeout: 10_000 }).toBe(1);
      expect(stream.isDone).toBe(false);
    }
  });
});
