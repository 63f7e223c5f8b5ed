import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { uniquePrefix, waitFor } from "@conveyor/testkit";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launchChromium } from "../support/browser.ts";
import { type System, startSystem } from "../support/system.ts";

const root = join(import.meta.dirname, "..", "..");
const SCREENSHOTS = join(root, "test-output", "screenshots");

let system: System;
let browser: Browser;

beforeAll(async () => {
  await mkdir(SCREENSHOTS, { recursive: true });
  system = await startSystem({
    redisUrl: inject("redisUrl"),
    prefix: uniquePrefix("graphiql"),
    env: { NODE_ENV: "development" },
  });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await system?.stopAll();
});

const isLoopback = (url: string) => {
  const { protocol, hostname } = new URL(url);
  if (protocol === "data:" || protocol === "blob:") return true;
  return hostname === "127.0.0.1" || hostname === "localhost" || hostname === "[::1]";
};

/** What went wrong on a page: requests that left loopback, script errors, CSP violations. */
interface PageProblems {
  offLoopback: string[];
  errors: string[];
  /** `content-type` of each response, by URL path. */
  contentTypes: Map<string, string>;
}

/** Opens GraphiQL with every request beyond loopback blocked, and waits for its editor. */
async function openGraphiQL(problems: PageProblems): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (isLoopback(url)) return route.continue();
    problems.offLoopback.push(url);
    return route.abort("blockedbyclient");
  });
  const page = await context.newPage();
  page.on("pageerror", (error) => problems.errors.push(error.message));
  page.on("response", (response) =>
    problems.contentTypes.set(
      new URL(response.url()).pathname,
      response.headers()["content-type"] ?? "",
    ),
  );
  page.on("console", (message) => {
    if (message.type() === "error" || /Content Security Policy/i.test(message.text()))
      problems.errors.push(message.text());
    if (process.env.DEBUG_WEB) console.log("console:", message.text());
  });
  await page.goto(`${system.gatewayUrl}/graphql`);
  await page.locator(".graphiql-query-editor .monaco-editor").waitFor({ timeout: 30_000 });
  return page;
}

/** Replaces the operation in GraphiQL's editor and runs it. */
async function run(page: Page, operation: string): Promise<void> {
  await page.locator(".graphiql-query-editor .monaco-editor").click();
  await page.keyboard.press("ControlOrMeta+A");
  await page.keyboard.press("Delete");
  // Inserted at once, as a paste is: the editor does not auto-close brackets in it.
  await page.keyboard.insertText(operation);
  await page.locator(".graphiql-execute-button").click();
}

/** The response pane's text (Monaco renders spaces as no-break spaces). */
const resultText = async (page: Page) =>
  ((await page.locator(".graphiql-response").textContent()) ?? "").replace(/\u00a0/g, " ");

describe("GraphiQL", () => {
  it("works with no network beyond loopback: a query, then a subscription that sees a live event", async () => {
    const problems: PageProblems = { offLoopback: [], errors: [], contentTypes: new Map() };
    const page = await openGraphiQL(problems);

    await run(page, "{ products { sku name stock } }");
    await waitFor("the query's result", async () =>
      (await resultText(page)).includes("Mechanical Keyboard"),
    );

    await run(page, "subscription { events { type orderId service } }");
    // Orders placed over HTTP while the subscription is open reach the page as they happen.
    // One order's events can come and go before the stream is set up, so place until one shows.
    const placed: string[] = [];
    const seen = await waitFor(
      "a live event of an order placed over HTTP",
      async () => {
        const response = await system.graphql<{ placeOrder: { order: { id: string } } }>(
          `mutation { placeOrder(input: { customerId: "graphiql", items: [{ sku: "KB-001", quantity: 1 }] }) { order { id } } }`,
        );
        const orderId = response.data?.placeOrder.order.id;
        if (orderId) placed.push(orderId);
        await page.waitForTimeout(500);
        const text = await resultText(page);
        return placed.find((id) => text.includes(id)) !== undefined && text;
      },
      30_000,
    );
    expect(seen).toMatch(
      /"type": "(order\.created|inventory\.reserved|payment\.processed|shipment\.created)"/,
    );
    await page.screenshot({ path: join(SCREENSHOTS, "graphiql-subscription.png") });

    // The editor, its styles and its workers came from the gateway; the subscription over SSE.
    const paths = [...problems.contentTypes.keys()];
    expect(paths).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\/graphql\/graphiql\/[^/]+\/yoga-graphiql\.umd\.js$/),
        expect.stringMatching(/\/graphiql\.css$/),
        expect.stringMatching(/\/monacoeditorwork\/graphql\.worker\.\.bundle\.js$/),
      ]),
    );
    expect(problems.contentTypes.get("/graphql")).toMatch(/text\/event-stream/);
    expect(problems.offLoopback).toEqual([]);
    expect(problems.errors).toEqual([]);
    await page.context().close();
  });
});
