import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { freePort } from "./ports.ts";
import { waitFor } from "./wait.ts";

/** A real service process started by a test. */
export interface ServiceProcess {
  readonly name: string;
  readonly healthPort: number;
  /** Everything it wrote to stdout and stderr (JSON log lines). */
  readonly output: string[];
  readonly pid: number | undefined;
  /**
   * Resolves when `/readyz` answers 200. The default wait is long because a busy two-core
   * machine has taken over 20 s to start an app; a ready app returns at once.
   */
  waitUntilReady(timeoutMs?: number): Promise<void>;
  /** Sends a signal and resolves the exit code (or the signal name). */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
  /** Kills it with SIGKILL, as a crash would. */
  kill(): Promise<void>;
  readonly exited: Promise<number | string>;
}

/** Options of {@link spawnService}. */
export interface SpawnServiceOptions {
  /** A name for messages. */
  name: string;
  /** The entry file (`main.ts`) to run with this Node. */
  entry: string;
  /** Settings; `HEALTH_PORT` is filled with a free port unless given. */
  env: Record<string, string>;
  /** The env var that carries the health port. Default `HEALTH_PORT`. */
  portVariable?: string;
  /** Extra arguments for node before the entry (e.g. `--import`). */
  nodeArgs?: string[];
}

/** Starts a service as its own Node process, the way production runs it. */
export async function spawnService(options: SpawnServiceOptions): Promise<ServiceProcess> {
  const portVariable = options.portVariable ?? "HEALTH_PORT";
  const port = Number(options.env[portVariable] ?? (await freePort()));
  const child: ChildProcess = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), options.entry],
    {
      env: {
        ...process.env,
        NODE_ENV: "test",
        LOG_LEVEL: "info",
        ...options.env,
        [portVariable]: String(port),
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const output: string[] = [];
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => output.push(chunk));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => output.push(chunk));
  const exited = once(child, "exit").then(([code, signal]) => (code ?? signal) as number | string);

  return {
    name: options.name,
    healthPort: port,
    output,
    pid: child.pid,
    exited,
    async waitUntilReady(timeoutMs = 45_000) {
      let hasExited = false;
      void exited.then(() => {
        hasExited = true;
      });
      await waitFor(
        `${options.name} to be ready`,
        async () => {
          if (hasExited) throw new Error(`${options.name} exited early:\n${output.join("")}`);
          const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
          return response?.status === 200;
        },
        timeoutMs,
        100,
      );
    },
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}
