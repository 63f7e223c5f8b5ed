/**
 * `npm start`: the whole system on one machine. Starts a private redis-server (AOF on, data in
 * `.data/redis`) unless REDIS_URL is set, then the gateway and the worker services, each as its
 * own process with prefixed logs; prints every URL; Ctrl-C stops everything cleanly.
 *
 * `npm start -- --auth` (or `AUTH_MODE=required npm start`) turns authentication on: unless
 * AUTH_JWT_SECRET or AUTH_JWKS_URL is set, it makes a development secret for this run and prints
 * an operator token and a customer token signed with it.
 *
 * `npm start -- --cluster` (or `CLUSTER=1 npm start`) runs the system on a private three-master
 * Redis Cluster instead (ports 7001-7003, or REDIS_CLUSTER_PORT and the next two; AOF on, data in
 * `.data/redis-cluster/<port>`), created on the first run and reused after; the apps get
 * REDIS_CLUSTER_NODES and STREAM_PARTITIONS (default 4). With REDIS_CLUSTER_NODES set, the apps
 * use that cluster instead (REDIS_URL, if set, giving its password and TLS).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { styleText } from "node:util";
import { z } from "zod";
import { signToken } from "../gateway/src/auth/sign.ts";
import { isPortFree } from "../services/testkit/src/ports.ts";
import {
  createCluster,
  isUnformed,
  stateProblem,
  waitForCluster,
} from "../services/testkit/src/redis-cluster-admin.ts";
import { redisServerArgs } from "../services/testkit/src/redis-server.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

const env = z
  .object({
    REDIS_URL: z.string().optional(),
    REDIS_PORT: z.coerce.number().int().positive().default(6380),
    CLUSTER: z.enum(["", "0", "1", "false", "true"]).optional(),
    REDIS_CLUSTER_NODES: z.string().optional(),
    // The first of the private cluster's three ports; each node's bus port is its port + 10000.
    REDIS_CLUSTER_PORT: z.coerce.number().int().positive().max(55_533).default(7001),
    STREAM_PARTITIONS: z.coerce.number().int().positive().optional(),
    PORT: z.coerce.number().int().positive().default(4000),
    LOG_PRETTY: z.string().default("true"),
    AUTH_MODE: z.enum(["off", "optional", "required", ""]).optional(),
    AUTH_JWT_SECRET: z.string().optional(),
    AUTH_JWKS_URL: z.string().optional(),
  })
  .parse(process.env);

/** The gateway's auth settings for this run, and the tokens to print, if auth is on. */
async function authSetup(): Promise<{ gatewayEnv: Record<string, string>; tokens?: string[] }> {
  const isRequested = process.argv.includes("--auth");
  const mode = env.AUTH_MODE || (isRequested ? "required" : "off");
  if (mode === "off") return { gatewayEnv: {} };
  if (env.AUTH_JWT_SECRET || env.AUTH_JWKS_URL) return { gatewayEnv: { AUTH_MODE: mode } };
  // A new secret each run: the tokens printed below stop working when this run ends.
  const secret = randomBytes(32).toString("base64url");
  const hours = 12;
  const operator = await signToken(secret, {
    subject: "operator",
    isOperator: true,
    expiresInSeconds: hours * 3600,
  });
  const customer = await signToken(secret, {
    subject: "customer-1",
    expiresInSeconds: hours * 3600,
  });
  return {
    gatewayEnv: { AUTH_MODE: mode, AUTH_JWT_SECRET: secret },
    tokens: [
      styleText(
        "bold",
        `Authentication is on (AUTH_MODE=${mode}), with a development secret made for this run.`,
      ),
      `Tokens, valid ${hours} h (paste one into the dashboard's sign-in, or into GraphiQL's Headers as`,
      `{"Authorization": "Bearer <token>"}):`,
      `  Operator (sub "operator", roles ["operator"]): everything, the dashboard included`,
      `    ${operator}`,
      `  Customer (sub "customer-1"): places and sees its own orders only`,
      `    ${customer}`,
    ],
  };
}

interface App {
  name: string;
  color: Parameters<typeof styleText>[0];
  entry: string;
  healthPort: number;
  portVariable: string;
}

const apps: App[] = [
  {
    name: "gateway",
    color: "cyan",
    entry: "gateway/src/main.ts",
    healthPort: env.PORT,
    portVariable: "PORT",
  },
  {
    name: "inventory",
    color: "green",
    entry: "services/inventory/src/main.ts",
    healthPort: 4101,
    portVariable: "HEALTH_PORT",
  },
  {
    name: "payment",
    color: "magenta",
    entry: "services/payment/src/main.ts",
    healthPort: 4102,
    portVariable: "HEALTH_PORT",
  },
  {
    name: "shipment",
    color: "yellow",
    entry: "services/shipment/src/main.ts",
    healthPort: 4103,
    portVariable: "HEALTH_PORT",
  },
];

const children = new Map<string, ChildProcess>();
let isStopping = false;

function say(message: string): void {
  console.log(`${styleText("bold", "[conveyor]")} ${message}`);
}

function pipeWithPrefix(child: ChildProcess, name: string, color: App["color"]): void {
  const prefix = styleText(color, `[${name.padEnd(10)}]`);
  for (const stream of [child.stdout, child.stderr]) {
    let partial = "";
    stream?.setEncoding("utf8").on("data", (chunk: string) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) if (line.trim()) console.log(`${prefix} ${line}`);
    });
  }
}

/** What the apps are told about Redis, and how the banner names it. */
interface RedisConnection {
  appEnv: Record<string, string>;
  shown: string;
}

const hidePassword = (url: string) => url.replace(/\/\/[^@]*@/, "//***@");

async function connectRedis(): Promise<RedisConnection> {
  const isClusterRequested =
    process.argv.includes("--cluster") || env.CLUSTER === "1" || env.CLUSTER === "true";
  if (env.REDIS_CLUSTER_NODES) {
    say(`using the Redis Cluster at ${env.REDIS_CLUSTER_NODES}`);
    return clusterConnection(env.REDIS_CLUSTER_NODES, env.REDIS_URL);
  }
  if (isClusterRequested && env.REDIS_URL) {
    console.error(
      [
        "--cluster starts a private Redis Cluster, but REDIS_URL names a Redis to use.",
        "Unset REDIS_URL for the private cluster, or point at a running cluster with",
        "  REDIS_CLUSTER_NODES=host:port,host:port,… npm start   (REDIS_URL then gives its password and TLS)",
      ].join("\n"),
    );
    process.exit(1);
  }
  if (env.REDIS_URL) {
    say(`using Redis at ${hidePassword(env.REDIS_URL)}`);
    return { appEnv: { REDIS_URL: env.REDIS_URL }, shown: hidePassword(env.REDIS_URL) };
  }
  requireRedisServer();
  return isClusterRequested ? startPrivateCluster() : startPrivateRedis();
}

function clusterConnection(nodes: string, credentialsUrl: string | undefined): RedisConnection {
  const partitions = String(env.STREAM_PARTITIONS ?? 4);
  return {
    appEnv: {
      REDIS_CLUSTER_NODES: nodes,
      STREAM_PARTITIONS: partitions,
      ...(credentialsUrl ? { REDIS_URL: credentialsUrl } : {}),
    },
    shown: `cluster ${nodes} (STREAM_PARTITIONS=${partitions})`,
  };
}

function requireRedisServer(): void {
  if (!spawnSync("redis-server", ["--version"]).error) return;
  console.error(
    [
      "redis-server was not found, and REDIS_URL is not set.",
      "Install Redis 7 or later, then run npm start again:",
      "  Debian/Ubuntu:  sudo apt-get install redis-server",
      "  macOS:          brew install redis",
      "Or point Conveyor at a running Redis:  REDIS_URL=redis://localhost:6379 npm start",
    ].join("\n"),
  );
  process.exit(1);
}

/** Names of the redis-server processes this run started, stopped after the apps. */
const redisNames: string[] = [];

function spawnRedis(name: string, args: string[]): void {
  const redis = spawn("redis-server", args, {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  redisNames.push(name);
  children.set(name, redis);
  pipeWithPrefix(redis, name, "red");
  redis.once("exit", (code) => onExit(name, code));
}

async function startPrivateRedis(): Promise<RedisConnection> {
  if (!(await isPortFree(env.REDIS_PORT))) {
    console.error(`Port ${env.REDIS_PORT} is taken. Set REDIS_PORT to a free port, or REDIS_URL.`);
    process.exit(1);
  }
  const dir = join(root, ".data", "redis");
  mkdirSync(dir, { recursive: true });
  spawnRedis("redis", redisServerArgs(env.REDIS_PORT, dir, { isPersistent: true }));
  const url = `redis://127.0.0.1:${env.REDIS_PORT}`;
  say(`started a private redis-server at ${url} (data in .data/redis, AOF on)`);
  return { appEnv: { REDIS_URL: url }, shown: url };
}

async function startPrivateCluster(): Promise<RedisConnection> {
  const ports = [0, 1, 2].map((offset) => env.REDIS_CLUSTER_PORT + offset);
  for (const port of ports)
    if (!(await isPortFree(port)) || !(await isPortFree(port + 10_000))) {
      console.error(
        `Port ${port} or its cluster bus port ${port + 10_000} is taken. Set REDIS_CLUSTER_PORT to the first of three free ports (whose +10000 are free too), or REDIS_CLUSTER_NODES.`,
      );
      process.exit(1);
    }
  for (const port of ports) {
    const dir = join(root, ".data", "redis-cluster", String(port));
    mkdirSync(dir, { recursive: true });
    const args = redisServerArgs(port, dir, {
      isPersistent: true,
      cluster: { nodeTimeoutMs: 5000 },
    });
    spawnRedis(`redis:${port}`, args);
  }
  const addresses = ports.map((port) => `127.0.0.1:${port}`);
  try {
    const reports = await waitForCluster(addresses, () => undefined, {
      description: "the cluster's nodes to answer",
      timeoutMs: 10_000,
    });
    // Each node's nodes.conf remembers its cluster: a restart finds it formed and reuses it.
    if (reports.every(isUnformed)) {
      say(`creating a three-master Redis Cluster on ports ${ports.join(", ")}`);
      await createCluster(addresses, { replicasPerMaster: 0, timeoutMs: 30_000 });
    } else if (reports.some(isUnformed))
      throw new Error(
        `some nodes in .data/redis-cluster belong to a cluster and others do not; remove .data/redis-cluster to start afresh`,
      );
    await waitForCluster(addresses, stateProblem, {
      description: "the cluster to serve every slot",
      timeoutMs: 30_000,
    });
  } catch (error) {
    say(styleText("red", `the private Redis Cluster did not start: ${(error as Error).message}`));
    await stopAll(1);
  }
  say(
    `started a private Redis Cluster at ${addresses.join(",")} (data in .data/redis-cluster, AOF on)`,
  );
  return clusterConnection(addresses.join(","), undefined);
}

/** Builds the dashboard when it was never built or its sources changed since. */
function buildDashboardIfStale(): void {
  const built = join(root, "web", "dist", "index.html");
  const builtAt = existsSync(built) ? statSync(built).mtimeMs : 0;
  const sources = [join(root, "web", "index.html"), join(root, "web", "vite.config.ts")].concat(
    readdirSync(join(root, "web", "src"), { recursive: true, encoding: "utf8" }).map((file) =>
      join(root, "web", "src", file),
    ),
  );
  if (sources.every((file) => statSync(file).mtimeMs <= builtAt)) return;
  say("building the dashboard (web/dist)…");
  const build = spawnSync("npm", ["run", "build", "-w", "@conveyor/web"], {
    cwd: root,
    stdio: "inherit",
  });
  if (build.status !== 0)
    say(styleText("red", "the dashboard did not build; the API runs without it"));
}

async function waitUntilReady(app: App): Promise<boolean> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && !isStopping) {
    const response = await fetch(`http://127.0.0.1:${app.healthPort}/readyz`).catch(
      () => undefined,
    );
    if (response?.ok) return true;
    await sleep(200);
  }
  return false;
}

function onExit(name: string, code: number | null): void {
  children.delete(name);
  if (isStopping) return;
  say(styleText("red", `${name} exited (code ${code}); the rest keep running. Ctrl-C stops all.`));
}

async function stopAll(exitCode = 0): Promise<void> {
  if (isStopping) return;
  isStopping = true;
  say("stopping: apps finish their in-flight work first");
  const exits = (names: string[]) =>
    Promise.all(
      names.map((name) => {
        const child = children.get(name);
        if (!child || child.exitCode !== null) return Promise.resolve();
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        return exited;
      }),
    );
  await exits(apps.map((app) => app.name));
  await exits(redisNames);
  say("stopped");
  process.exit(exitCode);
}

process.on("SIGINT", () => void stopAll());
// The apps run in their own process groups; never leave them behind if this script dies.
process.on("exit", () => {
  for (const child of children.values()) child.kill("SIGTERM");
});
process.on("SIGTERM", () => void stopAll());

buildDashboardIfStale();
const auth = await authSetup();
const redis = await connectRedis();
for (const app of apps) {
  if (!(await isPortFree(app.healthPort))) {
    say(
      styleText(
        "red",
        `port ${app.healthPort} for ${app.name} is taken; set ${app.portVariable} or free it`,
      ),
    );
    await stopAll();
  }
  const child = spawn(
    process.execPath,
    ["--import", "@conveyor/telemetry/register", join(root, app.entry)],
    {
      cwd: root,
      // Its own process group: Ctrl-C reaches only this script, which stops the apps in order.
      detached: true,
      env: {
        ...process.env,
        ...redis.appEnv,
        LOG_PRETTY: env.LOG_PRETTY,
        [app.portVariable]: String(app.healthPort),
        ...(app.name === "gateway" ? auth.gatewayEnv : {}),
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  children.set(app.name, child);
  pipeWithPrefix(child, app.name, app.color);
  child.once("exit", (code) => onExit(app.name, code));
}

const readiness = await Promise.all(apps.map(waitUntilReady));
if (!isStopping) {
  const gateway = `http://localhost:${env.PORT}`;
  const lines = [
    "",
    styleText("bold", "Conveyor is running."),
    `  Dashboard         ${gateway}/`,
    `  GraphiQL          ${gateway}/graphql`,
    `  GraphQL over SSE  ${gateway}/graphql/stream  (graphql-sse protocol)`,
    `  Gateway health    ${gateway}/healthz  ${gateway}/readyz`,
    ...apps
      .slice(1)
      .map((app) => `  ${app.name.padEnd(17)} http://localhost:${app.healthPort}/readyz`),
    `  Redis             ${redis.shown}`,
    "",
    ...(auth.tokens ? [...auth.tokens, ""] : []),
    readiness.every(Boolean)
      ? "Everything is ready. Ctrl-C stops it all."
      : styleText("red", "Some apps did not become ready; see their logs above."),
    "",
  ];
  console.log(lines.join("\n"));
}
