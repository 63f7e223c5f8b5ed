/**
 * `npm start`: the whole system on one machine. Starts a private redis-server (AOF on, data in
 * `.data/redis`) unless REDIS_URL is set, then the gateway and the worker services, each as its
 * own process with prefixed logs; prints every URL; Ctrl-C stops everything cleanly.
 *
 * `npm start -- --auth` (or `AUTH_MODE=required npm start`) turns authentication on: unless
 * AUTH_JWT_SECRET or AUTH_JWKS_URL is set, it makes a development secret for this run and prints
 * an operator token and a customer token signed with it.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { styleText } from "node:util";
import { z } from "zod";
import { signToken } from "../gateway/src/auth/sign.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

const env = z
  .object({
    REDIS_URL: z.string().optional(),
    REDIS_PORT: z.coerce.number().int().positive().default(6380),
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
  const prefix = styleText(color, `[${name.padEnd(9)}]`);
  for (const stream of [child.stdout, child.stderr]) {
    let partial = "";
    stream?.setEncoding("utf8").on("data", (chunk: string) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) if (line.trim()) console.log(`${prefix} ${line}`);
    });
  }
}

async function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

async function startRedis(): Promise<string> {
  if (env.REDIS_URL) {
    say(`using Redis at ${env.REDIS_URL.replace(/\/\/[^@]*@/, "//***@")}`);
    return env.REDIS_URL;
  }
  if (spawnSync("redis-server", ["--version"]).error) {
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
  if (!(await isPortFree(env.REDIS_PORT))) {
    console.error(`Port ${env.REDIS_PORT} is taken. Set REDIS_PORT to a free port, or REDIS_URL.`);
    process.exit(1);
  }
  const dir = join(root, ".data", "redis");
  mkdirSync(dir, { recursive: true });
  const redis = spawn(
    "redis-server",
    [
      "--port",
      String(env.REDIS_PORT),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--appendonly",
      "yes",
      "--appendfsync",
      "everysec",
      "--save",
      "",
      "--maxmemory-policy",
      "noeviction",
    ],
    { stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  children.set("redis", redis);
  pipeWithPrefix(redis, "redis", "red");
  redis.once("exit", (code) => onExit("redis", code));
  const url = `redis://127.0.0.1:${env.REDIS_PORT}`;
  say(`started a private redis-server at ${url} (data in .data/redis, AOF on)`);
  return url;
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

async function stopAll(): Promise<void> {
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
  await exits(["redis"]);
  say("stopped");
  process.exit(0);
}

process.on("SIGINT", () => void stopAll());
// The apps run in their own process groups; never leave them behind if this script dies.
process.on("exit", () => {
  for (const child of children.values()) child.kill("SIGTERM");
});
process.on("SIGTERM", () => void stopAll());

buildDashboardIfStale();
const auth = await authSetup();
const redisUrl = await startRedis();
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
        REDIS_URL: redisUrl,
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
    `  Redis             ${redisUrl.replace(/\/\/[^@]*@/, "//***@")}`,
    "",
    ...(auth.tokens ? [...auth.tokens, ""] : []),
    readiness.every(Boolean)
      ? "Everything is ready. Ctrl-C stops it all."
      : styleText("red", "Some apps did not become ready; see their logs above."),
    "",
  ];
  console.log(lines.join("\n"));
}
