// TEMP (not committed): closed-loop probe with the peer harness, per-process CPU per order.
import { spawn } from "node:child_process";
import { Redis } from "ioredis";
import { startRedisServer } from "../services/testkit/src/redis-server.ts";
import { startBenchSystem } from "./lib/end-to-end.ts";
import { cpuMsPer, cpuSnapshot } from "./lib/measure.ts";

const profileDir = process.env.PROFILE_DIR || undefined;
const seconds = process.env.SECONDS_LOAD ?? "15";
const conc = process.env.CONC ?? "64";
const server = await startRedisServer({ isPersistent: true });
const redis = new Redis(server.url);
const system = await startBenchSystem(
  {
    redisUrl: server.url,
    prefix: "probe:",
    profileDir,
    otlpEndpoint: process.env.OTLP || undefined,
  },
  { gateway: { PLACE_ORDER_RATE_LIMIT: "0" } },
);
const pids = Object.fromEntries([...system.processes].map(([app, child]) => [app, child.pid]));
const harness = spawn(
  process.execPath,
  [
    "/work/shared/peer-bench/e2e-load.mjs",
    "--target",
    "graphql",
    "--url",
    system.gatewayUrl,
    "--mode",
    "closed",
    "--concurrency",
    conc,
    "--duration",
    seconds,
    "--grace",
    "10",
    "--quiet",
    "--progress",
    "0",
    "--sku",
    "KB-001",
  ],
  { stdio: ["ignore", "pipe", "inherit"] },
);
let out = "";
harness.stdout.on("data", (d) => (out += d));
await new Promise((r) => setTimeout(r, 3000));
const before = await cpuSnapshot({ ...pids, harness: harness.pid }, redis);
await new Promise((r) => setTimeout(r, (Number(seconds) - 4) * 1000));
const after = await cpuSnapshot({ ...pids, harness: harness.pid }, redis);
await new Promise((r) => harness.on("exit", r));
const result = JSON.parse(out.trim().split("\n").at(-1) ?? "{}");
console.log(
  JSON.stringify({
    throughput: result.throughput,
    completed: result.completed,
    p50: result.latencyMs?.p50,
    p99: result.latencyMs?.p99,
  }),
);
const perOrder = cpuMsPer(before, after, result.throughput * (Number(seconds) - 4));
console.log(
  Object.entries(perOrder)
    .map(([k, v]) => `${k} ${v.toFixed(3)}`)
    .join(" · "),
);
await system.stop();
await redis.quit();
await server.stop();
