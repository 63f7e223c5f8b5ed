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
  /** Kills it at once (SIGKILL), as a crash would; `start` brings it back on the same port. */
  kill(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes its data directory. */
  stop(): Promise<void>;
}

/** Options of {@link startRedisServer}. */
export interface RedisServerOptions {
  /** Persist with AOF (for tests that kill and restart Redis). Default false. */
  isPersistent?: boolean;
  /**
   * When the AOF is fsynced: `everysec` (Redis's default) or `always` (before each reply, so
   * no acknowledged write is lost even if the machine fails). Default `everysec`.
   */
  appendFsync?: "always" | "everysec" | "no";
  /** Require this password (`requirepass`); the url then carries it (`redis://:password@…`). */
  password?: string;
  /**
   * Serve TLS only, with this certificate (PEM files); the url is then `rediss://`. Clients are
   * not asked for certificates.
   */
  tls?: { certFile: string; keyFile: string; caFile: string };
}

/**
 * Starts a private `redis-server` on a free port with a temporary directory, so that tests never
 * touch a shared Redis. Requires `redis-server` on the PATH (Debian: `apt-get install redis-server`).
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), "conveyor-redis-"));
  const port = await freePort();
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    const args = [
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
    child = spawn("redis-server", args, { stdio: "ignore" });
    const started = child;
    const failed = new Promise<never>((_, reject) => {
      started.once("error", (error) =>
        reject(new Error(`cannot start redis-server (is it installed?): ${error.message}`)),
      );
      started.once("exit", (code) => reject(new Error(`redis-server exited with code ${code}`)));
    });
    failed.catch(() => {});
    await Promise.race([waitForPing(url, options.tls?.caFile), failed]);
  }

  const credentials = options.password ? `:${encodeURIComponent(options.password)}@` : "";
  const url = `${options.tls ? "rediss" : "redis"}://${credentials}127.0.0.1:${port}`;
  await start();
  return {
    url,
    port,
    dir,
    start,
    async kill() {
      const running = child;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      const exited = new Promise((resolve) => running.once("exit", resolve));
      running.kill("SIGKILL");
      await exited;
    },
    async stop() {
      const running = child;
      if (running && running.exitCode === null && running.signalCode === null) {
        const exited = new Promise((resolve) => running.once("exit", resolve));
        running.kill("SIGTERM");
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
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
