// TEMP (not committed): gateway CPU per HTTP request, gateway alone (no services), no subscribers.
import { Agent, request } from "node:http";
import { Redis } from "ioredis";
import { startRedisServer } from "../services/testkit/src/redis-server.ts";
import { launch, stopGracefully } from "./lib/apps.ts";
import { processCpuSeconds } from "./lib/measure.ts";

const server = await startRedisServer({ isPersistent: false });
const gw = await launch(
  "gateway",
  { redisUrl: server.url, prefix: "hp:", profileDir: process.env.PROFILE_DIR || undefined },
  { PLACE_ORDER_RATE_LIMIT: "0", ...(process.env.NOPROJ ? {} : {}) },
);
const url = new URL("/graphql", `http://127.0.0.1:${gw.healthPort}`);
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
const bodies: Record<string, string> = {
  typename: JSON.stringify({ query: "{ __typename }" }),
  placeOrder: "",
};
function body(kind: string, i: number) {
  if (kind !== "placeOrder") return bodies[kind]!;
  return JSON.stringify({
    query: "mutation P($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id } } }",
    variables: {
      input: {
        customerId: `c${i % 100}`,
        items: [{ sku: "KB-001", quantity: 1 }],
        paymentToken: "tok_visa",
      },
    },
  });
}
function send(kind: string, i: number) {
  const b = body(kind, i);
  return new Promise<void>((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(b) },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve());
      },
    );
    req.on("error", reject);
    req.end(b);
  });
}
for (const kind of (process.env.KINDS ?? "typename,placeOrder").split(",")) {
  let n = 0;
  const until = performance.now() + 8000;
  let measuring = false;
  let c0 = 0;
  let count0 = 0;
  const t0 = performance.now();
  setTimeout(async () => {
    c0 = await processCpuSeconds(gw.pid!);
    count0 = n;
    measuring = true;
  }, 2000);
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (performance.now() < until) {
        await send(kind, n);
        n++;
      }
    }),
  );
  const c1 = await processCpuSeconds(gw.pid!);
  console.log(
    `${kind}: ${(n / ((performance.now() - t0) / 1000)).toFixed(0)} req/s, gateway CPU ${(((c1 - c0) * 1e6) / (n - count0)).toFixed(0)} µs/request`,
  );
}
agent.destroy();
await stopGracefully(gw);
await server.stop();
