import { join } from "node:path";
import { freePort, type ServiceProcess, spawnService } from "@conveyor/testkit";
import { APPS, type AppName } from "./apps.ts";

const root = join(import.meta.dirname, "..", "..");

export { APPS, type AppName };

/** Options of {@link startSystem}. */
export interface SystemOptions {
  redisUrl: string;
  /** The key prefix of this test's data (a `uniquePrefix()`). */
  prefix: string;
  /** Extra settings for every app, or per app. */
  env?: Record<string, string>;
  appEnv?: Partial<Record<AppName, Record<string, string>>>;
  /** Send traces to this OTLP endpoint (telemetry is off otherwise). */
  otlpEndpoint?: string;
  /** Which apps to start. Default: all four. */
  apps?: readonly AppName[];
}

/** The whole system as real processes, for end-to-end tests. */
export interface System {
  /** `http://127.0.0.1:<port>` of the gateway. */
  readonly gatewayUrl: string;
  readonly processes: Map<AppName, ServiceProcess>;
  /** Starts (or restarts) one app and waits until it is ready. */
  start(app: AppName): Promise<ServiceProcess>;
  /** Stops one app with SIGTERM (or kills it with SIGKILL). */
  stop(app: AppName, how?: "SIGTERM" | "SIGKILL"): Promise<void>;
  /** Stops every app. */
  stopAll(): Promise<void>;
  /** Sends a GraphQL request to the gateway; resolves the parsed response body. */
  graphql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<{ data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> }>;
}

/**
 * Starts the gateway and the three services as separate Node processes, the way `npm start`
 * does, against the test's Redis and key prefix. Telemetry loads through `--import` exactly as
 * in production.
 */
export async function startSystem(options: SystemOptions): Promise<System> {
  const gatewayPort = await freePort();
  const processes = new Map<AppName, ServiceProcess>();
  const common: Record<string, string> = {
    REDIS_URL: options.redisUrl,
    STREAM_PREFIX: options.prefix,
    LOG_LEVEL: "warn",
    BLOCK_MS: "500",
    OTEL_METRICS_EXPORTER: "prometheus",
    ...(options.otlpEndpoint
      ? {
          OTEL_SDK_DISABLED: "false",
          OTEL_EXPORTER_OTLP_ENDPOINT: options.otlpEndpoint,
          OTEL_BSP_SCHEDULE_DELAY: "100",
        }
      : { OTEL_SDK_DISABLED: "true" }),
    ...options.env,
  };

  async function start(app: AppName): Promise<ServiceProcess> {
    const isGateway = app === "gateway";
    const child = await spawnService({
      name: app,
      entry: join(root, APPS[app]),
      nodeArgs: ["--import", "@conveyor/telemetry/register"],
      portVariable: isGateway ? "PORT" : "HEALTH_PORT",
      env: {
        ...common,
        OTEL_SERVICE_NAME: app,
        ...(isGateway ? { PORT: String(gatewayPort) } : {}),
        ...options.appEnv?.[app],
      },
    });
    processes.set(app, child);
    await child.waitUntilReady();
    return child;
  }

  async function stop(app: AppName, how: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
    const child = processes.get(app);
    if (!child) return;
    if (how === "SIGKILL") await child.kill();
    else await child.stop("SIGTERM");
    processes.delete(app);
  }

  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const system: System = {
    gatewayUrl,
    processes,
    start,
    stop,
    async stopAll() {
      await Promise.all([...processes.keys()].map((app) => stop(app)));
    },
    async graphql(query, variables) {
      const response = await fetch(`${gatewayUrl}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ query, variables }),
      });
      return response.json() as never;
    },
  };
  try {
    await Promise.all((options.apps ?? (Object.keys(APPS) as AppName[])).map(start));
  } catch (error) {
    await system.stopAll();
    throw error;
  }
  return system;
}
