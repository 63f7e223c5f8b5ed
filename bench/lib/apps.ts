import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { APPS, type AppName } from "../../e2e/support/apps.ts";
import { freePort } from "../../services/testkit/src/ports.ts";
import { type ServiceProcess, spawnService } from "../../services/testkit/src/process.ts";

/** The repository root. */
export const ROOT = join(import.meta.dirname, "..", "..");

export { APPS, type AppName };

/** Whether an app's entry file exists in this checkout (the gateway may not have landed yet). */
export function hasApp(app: AppName): boolean {
  return existsSync(join(ROOT, APPS[app]));
}

/** Stock large enough that no bench ever sells out (every seeder uses HSETNX: first one wins). */
export const HUGE_STOCK = "1000000000000";

/** How the bench starts processes: where they find Redis, telemetry, profiling. */
export interface LaunchOptions {
  /** The single Redis; with `clusterNodes`, only the credentials and TLS of the cluster's nodes. */
  redisUrl: string;
  /** A Redis Cluster's seed nodes (`REDIS_CLUSTER_NODES`): every process uses a cluster client. */
  clusterNodes?: string | undefined;
  /** `STREAM_PARTITIONS`: the order pipeline's partitions. Default 1. */
  partitions?: number | undefined;
  prefix: string;
  /** OTLP endpoint to send traces to; telemetry is disabled without one. */
  otlpEndpoint?: string | undefined;
  /** Write a V8 CPU profile of every process into this directory (`--cpu-prof`). */
  profileDir?: string | undefined;
  /** Extra Node flags for the gateway's process (a heap limit, say). */
  gatewayNodeArgs?: readonly string[] | undefined;
}

/** The settings every app gets in a bench: quiet logs, no rate limits, huge stock. */
function commonEnv(options: LaunchOptions): Record<string, string> {
  return {
    NODE_ENV: "development",
    REDIS_URL: options.redisUrl,
    ...(options.clusterNodes ? { REDIS_CLUSTER_NODES: options.clusterNodes } : {}),
    STREAM_PARTITIONS: String(options.partitions ?? 1),
    STREAM_PREFIX: options.prefix,
    LOG_LEVEL: "warn",
    CATALOG_INITIAL_STOCK: HUGE_STOCK,
    OTEL_METRICS_EXPORTER: "prometheus",
    ...(options.otlpEndpoint
      ? {
          OTEL_SDK_DISABLED: "false",
          OTEL_EXPORTER_OTLP_ENDPOINT: options.otlpEndpoint,
        }
      : { OTEL_SDK_DISABLED: "true" }),
  };
}

/**
 * Starts one app as its own Node process exactly as production does (`--import
 * @conveyor/telemetry/register`), optionally with `--cpu-prof`, and waits until it is ready.
 */
export async function launch(
  app: AppName,
  options: LaunchOptions,
  env: Record<string, string> = {},
  label: string = app,
): Promise<ServiceProcess> {
  const nodeArgs = ["--import", "@conveyor/telemetry/register"];
  if (options.profileDir) {
    // One folder per process: the telemetry's module hooks run in a worker thread, which writes
    // its own (small) profile next to the main thread's.
    const dir = join(options.profileDir, label);
    await mkdir(dir, { recursive: true });
    nodeArgs.push("--cpu-prof", `--cpu-prof-dir=${dir}`);
  }
  const isGateway = app === "gateway";
  if (isGateway) nodeArgs.push(...(options.gatewayNodeArgs ?? []));
  const port = await freePort();
  const child = await spawnService({
    name: label,
    entry: join(ROOT, APPS[app]),
    nodeArgs,
    portVariable: isGateway ? "PORT" : "HEALTH_PORT",
    env: {
      ...commonEnv(options),
      OTEL_SERVICE_NAME: app,
      ...(isGateway ? { PORT: String(port) } : { HEALTH_PORT: String(port) }),
      ...env,
    },
  });
  try {
    await child.waitUntilReady(30_000);
  } catch (error) {
    await child.kill();
    throw error;
  }
  return child;
}

/** Stops a process with SIGTERM (so a CPU profile is written), killing it if it hangs. */
export async function stopGracefully(child: ServiceProcess, timeoutMs = 15_000): Promise<void> {
  const timer = setTimeout(() => void child.kill(), timeoutMs);
  await child.stop("SIGTERM");
  clearTimeout(timer);
}
