import { copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { uniquePrefix, waitFor } from "@conveyor/testkit";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type OtlpReceiver, startOtlpReceiver } from "../../services/testkit/src/otlp-receiver.ts";
import { launchChromium } from "../support/browser.ts";
import { type System, startSystem } from "../support/system.ts";
import { buildDashboardOnce } from "./build-dashboard.ts";

const root = join(import.meta.dirname, "..", "..");
const SCREENSHOTS = join(root, "test-output", "screenshots");
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

let system: System;
let otlp: OtlpReceiver;
/** Where the gateway serves the dashboard: `http://127.0.0.1:<port>/`. */
let dashboardUrl: string;
let browser: Browser;

beforeAll(async () => {
  // The gateway serves web/dist if it is there when it starts: build first.
  await Promise.all([buildDashboardOnce(), mkdir(SCREENSHOTS, { recursive: true })]);
  // Traces on (to a receiver in this test), so that orders have a trace id and a trace link.
  otlp = await startOtlpReceiver();
  system = await startSystem({
    redisUrl: inject("redisUrl"),
    prefix: uniquePrefix("web"),
    otlpEndpoint: otlp.endpoint,
    appEnv: { gateway: { TRACE_LINK_TEMPLATE: "http://jaeger.test/trace/{traceId}" } },
  });
  dashboardUrl = `${system.gatewayUrl}/`;
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await system?.stopAll();
  await otlp?.stop();
});

/** Opens the dashboard and waits until its catalog and live link are up. */
async function openDashboard(
  viewport: { width: number; height: number },
  hash = "",
  colorScheme: "light" | "dark" = "light",
): Promise<Page> {
  const context = await browser.newContext({ viewport, reducedMotion: "reduce", colorScheme });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  if (process.env.DEBUG_WEB) {
    page.on("console", (message) => console.log("console:", message.text()));
    page.on("request", (request) =>
      console.log(
        Date.now() % 100000,
        "->",
        request.method(),
        request.url(),
        request.postData()?.slice(0, 160),
      ),
    );
    page.on("requestfailed", (request) =>
      console.log(Date.now() % 100000, "xx", request.url(), request.failure()?.errorText),
    );
    page.on("response", (response) =>
      console.log(Date.now() % 100000, "<-", response.status(), response.url()),
    );
  }
  await page.goto(`${dashboardUrl}${hash}`);
  await page
    .getByRole("list", { name: "Catalog" })
    .getByText("Mechanical Keyboard", { exact: true })
    .waitFor();
  await page.locator('.link-state[data-state="online"]').waitFor();
  expect(errors).toEqual([]);
  return page;
}

/** Sets how many of a product the order form holds, with the stepper's + button. */
async function addToOrder(page: Page, productName: string, quantity: number): Promise<void> {
  for (let count = 0; count < quantity; count++) {
    await page.getByRole("button", { name: `One more ${productName}` }).click();
  }
}

/** Places the order in the form and resolves the new order's id (from the URL). */
async function placeOrder(page: Page): Promise<string> {
  const before = new URL(page.url()).hash;
  await page.getByRole("button", { name: "Place order" }).click();
  await page.waitForURL((url) => url.hash.startsWith("#/orders/") && url.hash !== before);
  return new URL(page.url()).hash.replace("#/orders/", "");
}

async function waitForJourneyStatus(page: Page, status: string): Promise<void> {
  await page.locator(`#journey .panel-actions .status-badge[data-status="${status}"]`).waitFor({
    timeout: 20_000,
  });
}

async function texts(page: Page, selector: string): Promise<string[]> {
  return page.locator(selector).allTextContents();
}

describe("the dashboard", () => {
  it("places orders and follows them live: shipped, declined, the list and the health panel", async () => {
    const page = await openDashboard(DESKTOP);

    // Bad input: the gateway's own message is shown, and nothing is placed.
    await page.getByRole("button", { name: "Place order" }).click();
    await page.locator("#place-order [role=alert]").waitFor();
    expect(await page.locator("#place-order [role=alert]").textContent()).toMatch(/item/i);

    await addToOrder(page, "Mechanical Keyboard", 2);
    await addToOrder(page, "Wireless Mouse", 1);
    expect(await page.locator(".order-total").textContent()).toBe("$209.97");
    const shippedId = await placeOrder(page);
    await waitForJourneyStatus(page, "SHIPPED");
    expect(await texts(page, "#journey .timeline-label")).toEqual([
      "Order placed",
      "Stock reserved",
      "Payment captured",
      "Shipped",
    ]);
    expect(await texts(page, "#journey .progress-step[data-state=done] .progress-label")).toEqual([
      "Placed",
      "Reserved",
      "Paid",
      "Shipped",
    ]);
    // Each later step says how long it took since the previous one.
    expect(await page.locator("#journey .since").count()).toBe(3);
    const traceLink = page.getByRole("link", { name: /View trace/ });
    expect(await traceLink.getAttribute("href")).toMatch(
      /^http:\/\/jaeger\.test\/trace\/[\da-f]{32}$/,
    );

    // The list shows it, newest first, with its status; the stock went down.
    const shippedRow = page.locator(`#orders tr:has(button[title$="${shippedId}"])`);
    await shippedRow.locator('[data-status="SHIPPED"]').waitFor();
    await page.getByText("998 in stock").first().waitFor();

    // A declined card, ordered with the keyboard alone: the order is cancelled and the journey
    // says why.
    await page.getByRole("button", { name: "One more USB-C Cable, 2 m" }).focus();
    await page.keyboard.press("Space");
    await page.getByRole("radio", { name: /Approve/ }).focus();
    await page.keyboard.press("ArrowRight");
    expect(await page.getByRole("radio", { name: /Decline/ }).isChecked()).toBe(true);
    const before = new URL(page.url()).hash;
    await page.getByLabel("Customer ID").focus();
    await page.keyboard.press("Enter");
    await page.waitForURL((url) => url.hash.startsWith("#/orders/") && url.hash !== before);
    const declinedId = new URL(page.url()).hash.replace("#/orders/", "");
    expect(declinedId).not.toBe(shippedId);
    await waitForJourneyStatus(page, "CANCELLED");
    expect(await page.locator("#journey .reason-callout").textContent()).toMatch(/declined/i);
    expect(await texts(page, "#journey .progress-step[data-state=failed] .progress-label")).toEqual(
      ["Paid"],
    );
    await page
      .locator(`#orders tr:has(button[title$="${declinedId}"]) [data-status="CANCELLED"]`)
      .waitFor();
    expect(await texts(page, "#orders tbody tr .row-link")).toHaveLength(2);

    // The status filter.
    await page.getByLabel("Status").selectOption("SHIPPED");
    await waitFor("only shipped orders listed", async () => {
      const statuses = await texts(page, "#orders tbody .status-badge");
      return statuses.length === 1 && statuses[0] === "SHIPPED";
    });
    await page.getByLabel("Status").selectOption("");

    // Health: every service has a consumer, and the throughput it measured shows.
    for (const service of ["inventory", "payment", "shipment"]) {
      await page.locator(`#health tr[data-service="${service}"]`).waitFor();
    }
    await waitFor("throughput measured", async () => {
      const value = await page.locator("#health .stat").first().locator("dd").textContent();
      return Number.parseFloat(value ?? "0") > 0;
    });

    // The firehose saw every event of both orders, once each.
    await waitFor(
      "firehose rows",
      async () => (await page.locator("#firehose tbody tr").count()) >= 8,
    );
    const cursors = await texts(page, "#firehose tbody td:last-child");
    expect(new Set(cursors).size).toBe(cursors.length);

    await page.goto(`${dashboardUrl}#/orders/${shippedId}`);
    await waitForJourneyStatus(page, "SHIPPED");
    await page.locator("#health .chart-line").first().waitFor();
    await page.getByRole("radio", { name: /Approve/ }).check();
    await page.getByLabel("Customer ID").blur();
    await page.evaluate("window.scrollTo(0, 0)");
    await page.screenshot({ path: join(SCREENSHOTS, "dashboard-desktop.png") });
    await page.screenshot({
      path: join(SCREENSHOTS, "dashboard-desktop-full.png"),
      fullPage: true,
    });

    const dark = await openDashboard(DESKTOP, `#/orders/${declinedId}`, "dark");
    await waitForJourneyStatus(dark, "CANCELLED");
    await dark.screenshot({ path: join(SCREENSHOTS, "dashboard-desktop-dark.png") });
    await dark.context().close();

    const phone = await openDashboard(PHONE, `#/orders/${declinedId}`);
    await waitForJourneyStatus(phone, "CANCELLED");
    await phone.screenshot({ path: join(SCREENSHOTS, "dashboard-phone.png") });
    await phone.screenshot({ path: join(SCREENSHOTS, "dashboard-phone-full.png"), fullPage: true });
    await phone.context().close();
    await page.context().close();
    // UPDATE_README_SCREENSHOT=1 refreshes the picture in the README.
    if (process.env.UPDATE_README_SCREENSHOT) {
      await mkdir(join(root, "docs", "images"), { recursive: true });
      await copyFile(
        join(SCREENSHOTS, "dashboard-desktop-full.png"),
        join(root, "docs", "images", "dashboard.png"),
      );
    }
  });

  it("survives a gateway restart: says it is reconnecting, then resumes without gaps or repeats", async () => {
    const page = await openDashboard(DESKTOP);
    const firehoseCursors = () => texts(page, "#firehose tbody td:last-child");
    const shippedCount = async () =>
      (await texts(page, "#firehose tbody tr")).filter((row) => row.includes("shipment.created"))
        .length;
    const firehoseRowsOf = (orderId: string) =>
      page.locator(`#firehose tbody tr:has(button[title$="${orderId}"])`);
    await addToOrder(page, "1080p Webcam", 1);
    const firstId = await placeOrder(page);
    await waitForJourneyStatus(page, "SHIPPED");
    await firehoseRowsOf(firstId).filter({ hasText: "shipment.created" }).waitFor();
    await page
      .locator(`#orders tr:has(button[title$="${firstId}"]) [data-status="SHIPPED"]`)
      .waitFor();
    const shippedBefore = await shippedCount();
    const cursorsBefore = await firehoseCursors();

    await system.stop("gateway");
    await page.getByText("reconnecting…").first().waitFor();
    // What the panels showed stays on screen meanwhile.
    expect(await page.locator("#orders tbody tr").count()).toBeGreaterThan(0);
    expect(await page.locator("#journey .timeline-item").count()).toBe(4);
    await page.screenshot({ path: join(SCREENSHOTS, "dashboard-reconnecting.png") });
    await system.start("gateway");
    await page.locator('.link-state[data-state="online"]').waitFor({ timeout: 20_000 });
    expect(await page.locator(".banner").count()).toBe(0);

    // An order placed through the API while the page watches comes through the resumed stream.
    const placed = await system.graphql<{ placeOrder: { order: { id: string } } }>(
      "mutation ($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id } } }",
      { input: { customerId: "cus_api", items: [{ sku: "LS-001", quantity: 1 }] } },
    );
    expect(placed.errors).toBeUndefined();
    const secondId = placed.data?.placeOrder.order.id ?? "";
    await firehoseRowsOf(secondId)
      .filter({ hasText: "shipment.created" })
      .waitFor()
      .catch(async (error) => {
        console.log(await texts(page, "#firehose tbody tr"));
        throw error;
      });
    expect(await shippedCount()).toBe(shippedBefore + 1);
    const cursors = await firehoseCursors();
    expect(new Set(cursors).size).toBe(cursors.length);
    expect(cursors).toHaveLength(cursorsBefore.length + 4);
    // The journey of the first order did not repeat its events after the reconnection.
    expect(await page.locator("#journey .timeline-item").count()).toBe(4);

    // Paused, the firehose holds still and counts what arrives; resumed, it shows it.
    await page.getByRole("button", { name: "Pause" }).click();
    const third = await system.graphql<{ placeOrder: { order: { id: string } } }>(
      "mutation ($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id } } }",
      { input: { customerId: "cus_api", items: [{ sku: "MS-001", quantity: 1 }] } },
    );
    await page.getByText("Paused · 4 new events waiting").waitFor();
    expect(await firehoseCursors()).toEqual(cursors);
    await page.getByRole("button", { name: "Resume" }).click();
    await firehoseRowsOf(third.data?.placeOrder.order.id ?? "")
      .filter({ hasText: "shipment.created" })
      .waitFor();
    await page.context().close();
  });
});
