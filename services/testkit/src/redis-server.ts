import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { freePort } from "./ports.ts";

/** A redis-server owned by a test run: its own port and data directory. */
export interface RedisServer {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Whether its process is running (false after `kill` or `stop`, until `start`). */
  readonly isRunning: boolean;
  /** Kills it at once (SIGKILL), as a crash would; `start` brings it back on the same port. */
  kill(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes its data directory. */
  stop(): Promise<void>;
  /** The last lines it logged, for the message of a failed test. */
  recentOutput(): string;
}

/** Options of {@link startRedisServer}. */
export interface RedisServerOptions {
  /** The port to listen on. Default: a free one. */
  port?: number;
  /** Persist with AOF (for tests that kill and restart Redis). Default false. */
  isPersistent?: boolean;
  /**
   * When the AOF is fsynced: `everysec` (Redis's default) or `always` (before each reply, so
   * no acknowledged write is lost even if the machine fails). Default `everysec`.
   */
  appendFsync?: "always" | "everysec" | "no";
  /**
   * Require this password (`requirepass`); the url then carries it (`redis://:password@…`). A
   * cluster node also uses it to authenticate to its master (`masterauth`).
   */
  password?: string;
  /**
   * Serve TLS only, with this certificate (PEM files); the url is then `rediss://`. Clients are
   * not asked for certificates.
   */
  tls?: { certFile: string; keyFile: string; caFile: string };
  /**
   * Run as a Redis Cluster node (its `nodes.conf` in its directory, its cluster bus on port +
   * 10000) that fails a peer unreachable for `nodeTimeoutMs`. Joining it to a cluster is the
   * caller's: see `startRedisCluster`.
   */
  cluster?: { nodeTimeoutMs: number };
}

/** Lines of a server's log kept for error messages. */
const KEPT_OUTPUT_LINES = 100;

/**
 * The command line of a `redis-server` for Conveyor: bound to loopback, never evicting (streams
 * must not lose entries), snapshots off, AOF as asked. `npm start` runs its Redis with it too.
 */
export function redisServerArgs(port: number, dir: string, options: RedisServerOptions): string[] {
  return [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
    "--save",
    "",
    "--appendonly",
    options.isPersistent ? "yes" : "no",
    "--appendfsync",
    options.appendFsync ?? "everysec",
    "--maxmemory-policy",
    "noeviction",
    "--protected-mode",
    "yes",
    ...(options.password ? ["--requirepass", options.password] : []),
    ...(options.password && options.cluster ? ["--masterauth", options.password] : []),
    ...(options.cluster
      ? [
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          "nodes.conf",
          "--cluster-node-timeout",
          String(options.cluster.nodeTimeoutMs),
          // A new replica gets its copy at once, instead of 5 s later in case others join it.
          "--repl-diskless-sync-delay",
          "0",
        ]
      : []),
    ...(options.tls
      ? [
          "--port",
          "0",
          "--tls-port",
          String(port),
          "--tls-cert-file",
          options.tls.certFile,
          "--tls-key-file",
          options.tls.keyFile,
          "--tls-ca-cert-file",
          options.tls.caFile,
          "--tls-auth-clients",
          "no",
        ]
      : []),
  ];
}

/**
 * Starts a private `redis-server` on a free port with a temporary directory, so that tests never
 * touch a shared Redis. Requires `redis-server` on the PATH (Debian: `apt-get install redis-server`).
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), "conveyor-redis-"));
  const port = options.port ?? (await freePort());
  const output: string[] = [];
  let child: ChildProcess | undefined;
  const isRunning = () =>
    child !== undefined && child.exitCode === null && child.signalCode === null;

  function keepOutput(chunk: string): void {
    output.push(...chunk.split("\n").filter((line) => line.trim()));
    output.splice(0, output.length - KEPT_OUTPUT_LINES);
  }

  async function start(): Promise<void> {
    child = spawn("redis-server", redisServerArgs(port, dir, options), {
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout?.setEncoding("utf8").on("data", keepOutput);
    child.stderr?.setEncoding("utf8").on("data", keepOutput);
    const started = child;
    const failed = new Promise<never>((_, reject) => {
      started.once("error", (error) =>
        reject(new Error(`cannot start redis-server (is it installed?): ${error.message}`)),
      );
      started.once("exit", (code) =>
        reject(
          new Error(`redis-server on port ${port} exited with code ${code}:\n${output.join("\n")}`),
        ),
      );
    });
    failed.catch(() => {});
    await Promise.race([waitForPing(url, options.tls?.caFile), failed]);
  }

  async function kill(): Promise<void> {
    const running = child;
    if (!running || !isRunning()) return;
    const exited = new Promise((resolve) => running.once("exit", resolve));
    running.kill("SIGKILL");
    await exited;
  }

  const credentials = options.password ? `:${encodeURIComponent(options.password)}@` : "";
  const url = `${options.tls ? "rediss" : "redis"}://${credentials}127.0.0.1:${port}`;
  try {
    await start();
  } catch (error) {
    await kill();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url,
    port,
    dir,
    get isRunning() {
      return isRunning();
    },
    start,
    kill,
    async stop() {
      const running = child;
      if (running && isRunning()) {
        const exited = new Promise((resolve) => running.once("exit", resolve));
        running.kill("SIGTERM");
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
    recentOutput: () => output.join("\n"),
  };
}

async function waitForPing(url: string, caFile?: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const probe = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      ...(caFile ? { tls: { ca: readFileSync(caFile) } } : {}),
    });
    probe.on("error", () => {});
    try {
      await probe.connect();
      await probe.ping();
      return;
    } catch {
      await sleep(50);
    } finally {
      probe.disconnect();
    }
  }
  throw new Error(`redis-server on port ${new URL(url).port} did not answer within 10 s`);
}
