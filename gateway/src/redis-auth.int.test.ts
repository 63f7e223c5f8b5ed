import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type ServiceProcess,
  spawnService,
  startRedisServer,
  uniquePrefix,
  waitFor,
} from "@conveyor/testkit";
import { describe, expect, it, onTestFinished } from "vitest";

const GATEWAY = fileURLToPath(new URL("./main.ts", import.meta.url));
const INVENTORY = fileURLToPath(new URL("../../services/inventory/src/main.ts", import.meta.url));

const hasOpenssl = spawnSync("openssl", ["version"]).status === 0;

/** A password nobody would print by chance, so that finding it in a log means it leaked. */
function distinctivePassword(): string {
  return `pw-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}`;
}

/** Starts an app the way production does (telemetry bootstrap loaded, exporting nothing). */
async function spawnApp(
  app: "gateway" | "inventory",
  env: Record<string, string>,
): Promise<ServiceProcess> {
  const service = await spawnService({
    name: app,
    entry: app === "gateway" ? GATEWAY : INVENTORY,
    nodeArgs: ["--import", "@conveyor/telemetry/register"],
    portVariable: app === "gateway" ? "PORT" : "HEALTH_PORT",
    // Debug logs: the most a process ever says about its connections.
    env: { LOG_LEVEL: "debug", OTEL_SDK_DISABLED: "true", HOST: "127.0.0.1", ...env },
  });
  onTestFinished(() => service.kill());
  return service;
}

/** Places an order through the gateway and waits until inventory reserved it. */
async function placeAndReserve(gateway: ServiceProcess): Promise<void> {
  const url = `http://127.0.0.1:${gateway.healthPort}/graphql`;
  const post = async (query: string) => {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query }),
    });
    return (await response.json()) as { data?: Record<string, { order?: { id: string } }> };
  };
  const placed = await post(
    'mutation { placeOrder(input: { customerId: "auth", items: [{ sku: "KB-001", quantity: 1 }] }) { order { id } } }',
  );
  const orderId = placed.data?.placeOrder?.order?.id;
  expect(orderId).toBeTruthy();
  await waitFor("the order to be reserved", async () => {
    const answer = (await post(`{ order(id: "${orderId}") { status } }`)) as {
      data?: { order?: { status: string } };
    };
    return answer.data?.order?.status === "RESERVED" ? true : undefined;
  });
}

function expectNotLogged(services: ServiceProcess[], secret: string): void {
  for (const service of services) {
    const output = service.output.join("");
    expect(output.length, `${service.name} logged something`).toBeGreaterThan(0);
    expect(output, `${service.name} logged the password`).not.toContain(secret);
    expect(output).not.toContain(encodeURIComponent(secret));
  }
}

describe("Redis with a password", () => {
  it("works for the gateway and a worker through REDIS_URL, and the password is never logged", async () => {
    const password = distinctivePassword();
    const redis = await startRedisServer({ password });
    onTestFinished(() => redis.stop());
    expect(redis.url).toContain(`:${password}@`);
    const env = { REDIS_URL: redis.url, STREAM_PREFIX: uniquePrefix("auth") };
    const [gateway, inventory] = await Promise.all([
      spawnApp("gateway", env),
      spawnApp("inventory", env),
    ]);
    await Promise.all([gateway.waitUntilReady(), inventory.waitUntilReady()]);
    await placeAndReserve(gateway);
    expect(await gateway.stop()).toBe(0);
    expect(await inventory.stop()).toBe(0);
    expectNotLogged([gateway, inventory], password);
  });

  it("with a wrong password fails without printing it", async () => {
    const password = distinctivePassword();
    const wrong = distinctivePassword();
    const redis = await startRedisServer({ password });
    onTestFinished(() => redis.stop());
    const gateway = await spawnApp("gateway", {
      REDIS_URL: redis.url.replace(password, wrong),
      STREAM_PREFIX: uniquePrefix("auth"),
    });
    await waitFor("the gateway to report the refused authentication", () =>
      /WRONGPASS|NOAUTH|invalid username-password/i.test(gateway.output.join(""))
        ? true
        : undefined,
    );
    const ready = await fetch(`http://127.0.0.1:${gateway.healthPort}/readyz`).catch(() => null);
    expect(ready?.status ?? 503).not.toBe(200);
    await gateway.kill();
    expectNotLogged([gateway], wrong);
  });
});

describe.skipIf(!hasOpenssl)("Redis over TLS (rediss://)", () => {
  it("works with the server's CA trusted through NODE_EXTRA_CA_CERTS, and is refused without it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "conveyor-tls-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const [certFile, keyFile] = [join(dir, "cert.pem"), join(dir, "key.pem")];
    const made = spawnSync("openssl", [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      keyFile,
      "-out",
      certFile,
    ]);
    expect(made.status, String(made.stderr)).toBe(0);
    const password = distinctivePassword();
    const redis = await startRedisServer({
      password,
      tls: { certFile, keyFile, caFile: certFile },
    });
    onTestFinished(() => redis.stop());
    expect(redis.url.startsWith("rediss://")).toBe(true);

    const env = {
      REDIS_URL: redis.url,
      STREAM_PREFIX: uniquePrefix("tls"),
      NODE_EXTRA_CA_CERTS: certFile,
    };
    const [gateway, inventory] = await Promise.all([
      spawnApp("gateway", env),
      spawnApp("inventory", env),
    ]);
    await Promise.all([gateway.waitUntilReady(), inventory.waitUntilReady()]);
    await placeAndReserve(gateway);
    expect(await gateway.stop()).toBe(0);
    expect(await inventory.stop()).toBe(0);
    expectNotLogged([gateway, inventory], password);

    // The certificate is checked: without its CA the same server is not trusted.
    const untrusting = await spawnApp("gateway", { ...env, NODE_EXTRA_CA_CERTS: "" });
    await waitFor("the gateway to refuse the untrusted certificate", () =>
      /self[- ]signed|certificate/i.test(untrusting.output.join("")) ? true : undefined,
    );
    await untrusting.kill();
    expectNotLogged([untrusting], password);
  });
});
