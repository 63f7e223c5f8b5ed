import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { uniquePrefix } from "@conveyor/testkit";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { signToken } from "../../gateway/src/auth/sign.ts";
import { launchChromium } from "../support/browser.ts";
import { type System, startSystem } from "../support/system.ts";
import { buildDashboardOnce } from "./build-dashboard.ts";

const root = join(import.meta.dirname, "..", "..");
const SCREENSHOTS = join(root, "test-output", "screenshots");
const SECRET = "browser-test-secret-0123456789abcdef-xyz";

let system: System;
let browser: Browser;

beforeAll(async () => {
  await Promise.all([buildDashboardOnce(), mkdir(SCREENSHOTS, { recursive: true })]);
  system = await startSystem({
    redisUrl: inject("redisUrl"),
    prefix: uniquePrefix("web-auth"),
    appEnv: {
      gateway: { AUTH_MODE: "required", AUTH_JWT_SECRET: SECRET, AUTH_CLOCK_SKEW_SECONDS: "0" },
    },
  });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await system?.stopAll();
});

/** A fresh browser session on the dashboard, recording every URL it requests. */
async function open(): Promise<{ page: Page; urls: string[]; errors: string[] }> {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    reducedMotion: "reduce",
  });
  const page = await context.newPage();
  const urls: string[] = [];
  const errors: string[] = [];
  page.on("request", (request) => urls.push(request.url()));
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(`${system.gatewayUrl}/`);
  return { page, urls, errors };
}

async function signIn(page: Page, token: string): Promise<void> {
  await page.getByLabel("Operator token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
}

describe("the dashboard with authentication on", () => {
  it("asks for an operator token, shows who is signed in, keeps the token out of URLs, and asks again when it expires", async () => {
    const { page, urls, errors } = await open();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, "sign-in.png") });

    // A customer's token is not enough; a forged one is refused.
    await signIn(page, await signToken(SECRET, { subject: "customer-1" }));
    await page.getByText(/customer's \(customer-1\)/).waitFor();
    await signIn(page, await signToken(`${SECRET}-forged`, { subject: "ops", isOperator: true }));
    await page.getByText("The gateway did not accept that token. Sign in again.").waitFor();

    // An operator's token: the whole dashboard, live, with who is signed in.
    const operator = await signToken(SECRET, {
      subject: "ops-alice",
      isOperator: true,
      expiresInSeconds: 12,
    });
    await signIn(page, `Bearer ${operator}`);
    await page.getByTestId("session").getByText("ops-alice").waitFor();
    await page
      .getByRole("list", { name: "Catalog" })
      .getByText("Mechanical Keyboard", { exact: true })
      .waitFor();
    await page.locator('.link-state[data-state="online"]').waitFor();
    await page
      .locator("#health")
      .getByText(/inventory/i)
      .first()
      .waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, "signed-in.png") });
    expect(await page.evaluate(() => sessionStorage.getItem("conveyor.operatorToken"))).toBe(
      operator,
    );

    // A reload keeps the session (sessionStorage), without asking again.
    await page.reload();
    await page.getByTestId("session").getByText("ops-alice").waitFor();

    // The token expires: the page asks again, says why, and has forgotten it.
    await page.getByText("Your session has expired", { exact: false }).waitFor({ timeout: 20_000 });
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem("conveyor.operatorToken"))).toBeNull();
    await page.screenshot({ path: join(SCREENSHOTS, "sign-in-expired.png") });

    const signature = operator.split(".")[2] ?? "";
    expect(urls.filter((url) => url.includes(signature) || /token=|eyJ/.test(url))).toEqual([]);
    expect(page.url()).not.toContain(signature);
    expect(errors).toEqual([]);
  });

  it("places an order when signed in as an operator", async () => {
    const { page } = await open();
    await signIn(page, await signToken(SECRET, { subject: "ops-bob", isOperator: true }));
    await page.getByTestId("session").getByText("ops-bob").waitFor();
    await page.getByRole("button", { name: "One more Wireless Mouse" }).click();
    await page.getByRole("button", { name: "Place order" }).click();
    await page.waitForURL((url) => url.hash.startsWith("#/orders/"));
    await page.locator('#journey .timeline-label:text("Order placed")').waitFor();

    // Signing out forgets the token and asks again.
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem("conveyor.operatorToken"))).toBeNull();
  });
});
