/**
 * The invariants of docker-compose.yml, checked without a Docker engine: the file is parsed with
 * a real YAML parser and its variables resolved as compose does, then held against the apps'
 * own env schemas, the Dockerfile and .env.example. `docker-compose config -q` (Debian's
 * docker-compose) validates it against the compose schema when it is installed.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { TelemetrySettings } from "@conveyor/telemetry";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { z } from "zod";
import {
  type ComposeFile,
  type ComposeService,
  dependenciesOf,
  environmentOf,
  loadCompose,
  publishedPorts,
  repoRoot,
  type VariableReference,
} from "./compose-file.ts";
import { loadDockerfile } from "./dockerfile.ts";
import {
  loadDashboards,
  loadPrometheusConfig,
  loadRuleFiles,
  metricNamesOf,
  monitoringExpressions,
} from "./monitoring-config.ts";

const execFileAsync = promisify(execFile);

/** The services that run Conveyor's code, and the workspace each one runs. */
const APP_SERVICES = {
  gateway: "gateway",
  inventory: "services/inventory",
  payment: "services/payment",
  shipment: "services/shipment",
} as const;
const WORKERS = ["inventory", "payment", "shipment"] as const;
/** The services of the monitoring profile. */
const MONITORING_SERVICES = ["prometheus", "grafana"] as const;
/** The stack on a Redis Cluster: the cluster profile's nodes, and the apps pointed at them. */
const CLUSTER_FILES = ["docker-compose.yml", "docker-compose.cluster.yml"];
/** The one-shot service that creates the cluster. */
const CLUSTER_INIT = "redis-cluster-init";

/** The Redis nodes of the cluster profile, in order (`redis-cluster-1`, …). */
function clusterNodesOf(compose: ComposeFile): string[] {
  return Object.keys(compose.services)
    .filter((name) => /^redis-cluster-\d+$/.test(name))
    .sort((a, b) => Number(a.split("-").at(-1)) - Number(b.split("-").at(-1)));
}

function clusterServicesOf(compose: ComposeFile): string[] {
  return [...clusterNodesOf(compose), CLUSTER_INIT];
}

/**
 * Settings the stack deliberately sets to something else than the app's own default, and why.
 * Any other setting in docker-compose.yml must resolve to the app's default (a copy that drifts,
 * like CONCURRENCY=64 on payment whose default is 256, is caught).
 */
const DELIBERATE_DEVIATIONS: Record<string, string> = {
  NODE_ENV: "the stack is a deployment: production defaults",
  REDIS_URL: "the stack's own Redis container",
  OTEL_EXPORTER_OTLP_ENDPOINT: "the stack's own Jaeger container",
  OTEL_METRICS_EXPORTER: "Jaeger takes no metrics: Prometheus scrapes /metrics instead",
  OTEL_SERVICE_NAME: "each container names its app in its traces and metrics",
};

/** Settings the cluster variant sets apart from the app's default, and why. */
const CLUSTER_DEVIATIONS: Record<string, string> = {
  ...DELIBERATE_DEVIATIONS,
  REDIS_CLUSTER_NODES: "the stack's own cluster nodes",
  STREAM_PARTITIONS: "each event type's stream is split so that every master takes a share",
};

/** Where `docker-compose` (v1, Debian's package) may be; the test looks it up on PATH. */
async function findDockerCompose(): Promise<string | undefined> {
  for (const directory of (process.env.PATH ?? "").split(":")) {
    const candidate = join(directory, "docker-compose");
    if (directory && existsSync(candidate)) return candidate;
  }
  return undefined;
}
const dockerCompose = await findDockerCompose();

/** Prometheus's `promtool` (PROMTOOL, or on PATH; Debian's `prometheus` package has it). */
async function findPromtool(): Promise<string | undefined> {
  if (process.env.PROMTOOL && existsSync(process.env.PROMTOOL)) return process.env.PROMTOOL;
  for (const directory of (process.env.PATH ?? "").split(":")) {
    const candidate = join(directory, "promtool");
    if (directory && existsSync(candidate)) return candidate;
  }
  return undefined;
}
const promtool = await findPromtool();

/** The zod shape an app's env.ts exports (the export whose name ends in `EnvShape`). */
async function envShapeOf(workspace: string): Promise<z.ZodRawShape> {
  const module = (await import(join(repoRoot, workspace, "src", "env.ts"))) as Record<
    string,
    unknown
  >;
  const shapes = Object.entries(module).filter(([name]) => name.endsWith("EnvShape"));
  if (shapes.length !== 1)
    throw new Error(
      `${workspace}/src/env.ts must export exactly one *EnvShape (found ${shapes.map(([name]) => name).join(", ") || "none"})`,
    );
  return shapes[0]?.[1] as z.ZodRawShape;
}

/** The variables an env shape requires: those whose schema rejects `undefined` (no default). */
function requiredKeys(shape: z.ZodRawShape): string[] {
  return Object.entries(shape)
    .filter(([, schema]) => !(schema as z.ZodType).safeParse(undefined).success)
    .map(([name]) => name);
}

/** Jaeger's configuration (an OpenTelemetry Collector's), as far as these checks read it. */
interface JaegerConfig {
  service?: { extensions?: string[]; pipelines?: { traces?: { receivers?: string[] } } };
  receivers?: { otlp?: { protocols?: { http?: { endpoint?: string } } } };
  extensions?: {
    healthcheckv2?: { http?: { endpoint?: string } };
    jaeger_storage?: { backends?: Record<string, { memory?: { max_traces?: unknown } }> };
  };
}

function serviceOf(compose: ComposeFile, name: string): ComposeService {
  const service = compose.services[name];
  if (!service) throw new Error(`docker-compose.yml has no service ${name}`);
  return service;
}

function buildOf(service: ComposeService) {
  return typeof service.build === "string" ? { context: service.build } : (service.build ?? {});
}

/** Every app sets what its env schema requires, and every value it sets passes the schema. */
function expectAppSettingsPassSchemas(compose: ComposeFile, shapes: Map<string, z.ZodRawShape>) {
  for (const [name, workspace] of Object.entries(APP_SERVICES)) {
    const shape = shapes.get(workspace) ?? {};
    const environment = environmentOf(serviceOf(compose, name));
    for (const key of requiredKeys(shape))
      expect(environment, `${name} requires ${key}`).toHaveProperty(key);
    const parsed = z.object(shape).safeParse(environment);
    expect(parsed.success, `${name}: ${parsed.error ? z.prettifyError(parsed.error) : ""}`).toBe(
      true,
    );
    const telemetry = TelemetrySettings.safeParse(environment);
    expect(telemetry.success, `${name}: ${telemetry.error?.message ?? ""}`).toBe(true);
  }
}

/** No app sets a variable that neither its schema nor the telemetry settings read. */
function expectNoUnreadAppSettings(compose: ComposeFile, shapes: Map<string, z.ZodRawShape>) {
  const telemetryKeys = Object.keys(TelemetrySettings.shape);
  for (const [name, workspace] of Object.entries(APP_SERVICES)) {
    const known = new Set([...Object.keys(shapes.get(workspace) ?? {}), ...telemetryKeys]);
    const unknown = Object.keys(environmentOf(serviceOf(compose, name))).filter(
      // The standard OTEL_* variables are read by the OpenTelemetry SDK itself.
      (key) => !known.has(key) && !key.startsWith("OTEL_"),
    );
    expect(unknown, name).toEqual([]);
  }
}

/** Every app setting equals the app's own default, but for the `deviations` named. */
function expectAppDefaultsBut(
  deviations: Record<string, string>,
  compose: ComposeFile,
  shapes: Map<string, z.ZodRawShape>,
) {
  const telemetryShape = TelemetrySettings.shape as z.ZodRawShape;
  for (const [name, workspace] of Object.entries(APP_SERVICES)) {
    const shape = { ...telemetryShape, ...(shapes.get(workspace) ?? {}) };
    for (const [key, value] of Object.entries(environmentOf(serviceOf(compose, name)))) {
      const schema = shape[key] as z.ZodType | undefined;
      if (!schema || key in deviations) continue;
      const byDefault = schema.safeParse(undefined);
      // Optional settings with no default (GRAPHIQL, PLACE_ORDER_RATE_LIMIT…) follow NODE_ENV:
      // compose states them explicitly, with a comment saying why.
      if (!byDefault.success || byDefault.data === undefined) continue;
      expect(schema.parse(value), `${name}: ${key}=${value} in compose`).toEqual(byDefault.data);
    }
  }
}

describe("docker-compose.yml", () => {
  let compose: ComposeFile;
  let references: VariableReference[];
  const shapes = new Map<string, z.ZodRawShape>();

  beforeAll(async () => {
    ({ compose, references } = await loadCompose());
    for (const workspace of Object.values(APP_SERVICES))
      shapes.set(workspace, await envShapeOf(workspace));
  });

  it("runs every deployable workspace (each one with a src/main.ts) as a service", async () => {
    const rootPackage = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as {
      workspaces: string[];
    };
    const deployables = rootPackage.workspaces.filter((workspace) =>
      existsSync(join(repoRoot, workspace, "src", "main.ts")),
    );
    const built = Object.values(compose.services)
      .map((service) => buildOf(service).args?.APP)
      .filter((app) => app !== undefined);
    expect([...built].sort()).toEqual([...deployables].sort());
    expect(Object.values(APP_SERVICES).sort()).toEqual([...deployables].sort());
  });

  it("builds every app service from the one root Dockerfile, with its workspace as APP", () => {
    for (const [name, workspace] of Object.entries(APP_SERVICES)) {
      const build = buildOf(serviceOf(compose, name));
      expect(build.context, name).toBe(".");
      expect(build.dockerfile ?? "Dockerfile", name).toBe("Dockerfile");
      expect(build.args?.APP, name).toBe(workspace);
    }
    for (const [name, service] of Object.entries(compose.services))
      if (service.build) expect(Object.keys(APP_SERVICES), name).toContain(name);
  });

  it("gives every app service a /readyz health check, a restart policy and healthy Redis first", () => {
    for (const name of Object.keys(APP_SERVICES)) {
      const service = serviceOf(compose, name);
      expect(service.healthcheck?.disable, name).not.toBe(true);
      expect(JSON.stringify(service.healthcheck?.test ?? ""), name).toContain("/readyz");
      expect(service.restart, name).toBe("unless-stopped");
      expect(dependenciesOf(service).redis, name).toBe("service_healthy");
    }
  });

  it("gives every app the port its health check probes (HEALTH_PORT, or PORT for the gateway)", () => {
    for (const name of Object.keys(APP_SERVICES)) {
      const environment = environmentOf(serviceOf(compose, name));
      const port = environment.HEALTH_PORT ?? environment.PORT;
      expect(port, `${name} must set HEALTH_PORT or PORT`).toMatch(/^[1-9]\d*$/);
    }
  });

  it("sets every variable an app's env schema requires, and every value passes the schema", () => {
    expectAppSettingsPassSchemas(compose, shapes);
  });

  it("sets no variable that no schema reads (a renamed setting would be silently ignored)", () => {
    expectNoUnreadAppSettings(compose, shapes);
  });

  it("leaves CONSUMER_NAME to its per-replica default (hostname = container id)", () => {
    for (const name of Object.keys(APP_SERVICES))
      expect(environmentOf(serviceOf(compose, name)), name).not.toHaveProperty("CONSUMER_NAME");
  });

  it("lets workers scale: no container_name and no published host port", () => {
    for (const name of WORKERS) {
      const service = serviceOf(compose, name);
      expect(service.container_name, name).toBeUndefined();
      expect(publishedPorts(service), name).toEqual([]);
    }
    expect(serviceOf(compose, "gateway").container_name).toBeUndefined();
  });

  it("publishes no host port twice", () => {
    const seen = new Map<string, string>();
    for (const [name, service] of Object.entries(compose.services))
      for (const port of publishedPorts(service)) {
        expect(port.hostPort, `${name} publishes a port range or variable`).toMatch(/^\d+$/);
        // 0.0.0.0 binds every address, so it collides with any address on the same port.
        for (const [key, owner] of seen) {
          const [ip, hostPort, protocol] = key.split("|");
          const isSameAddress = ip === port.hostIp || ip === "0.0.0.0" || port.hostIp === "0.0.0.0";
          if (isSameAddress && hostPort === port.hostPort && protocol === port.protocol)
            throw new Error(`${name} and ${owner} both publish host port ${port.hostPort}`);
        }
        seen.set(`${port.hostIp}|${port.hostPort}|${port.protocol}`, name);
      }
    expect([...new Set(seen.values())].sort()).toEqual([
      "gateway",
      "grafana",
      "jaeger",
      "prometheus",
    ]);
  });

  it("runs Redis with AOF on, noeviction, a named volume and a ping health check", () => {
    const redis = serviceOf(compose, "redis");
    const command = ([] as string[]).concat(redis.command ?? []).join(" ");
    expect(command).toMatch(/--appendonly yes\b/);
    expect(command).toMatch(/--maxmemory-policy noeviction\b/);
    const volume = String(redis.volumes?.[0] ?? "").split(":")[0] ?? "";
    expect(compose.volumes ?? {}).toHaveProperty(volume);
    expect(JSON.stringify(redis.healthcheck?.test)).toContain("redis-cli ping");
    for (const name of Object.keys(APP_SERVICES))
      expect(environmentOf(serviceOf(compose, name)).REDIS_URL, name).toBe("redis://redis:6379");
  });

  it("sends every app's traces to Jaeger over OTLP/HTTP, and links traces to Jaeger's published UI", () => {
    const jaeger = serviceOf(compose, "jaeger");
    expect(jaeger.healthcheck?.test).toBeDefined();
    const uiPort = publishedPorts(jaeger).find((port) => port.hostPort === "16686");
    expect(uiPort).toBeDefined();
    for (const name of Object.keys(APP_SERVICES)) {
      const environment = environmentOf(serviceOf(compose, name));
      expect(environment.OTEL_EXPORTER_OTLP_ENDPOINT, name).toBe("http://jaeger:4318");
      expect(environment.OTEL_SERVICE_NAME, name).toBe(name);
      expect(dependenciesOf(serviceOf(compose, name)).jaeger, name).toBe("service_healthy");
      // Jaeger does not take OTLP metrics: pushing them there would only log export errors.
      expect(environment.OTEL_METRICS_EXPORTER ?? "", name).not.toContain("otlp");
    }
    expect(environmentOf(serviceOf(compose, "gateway")).TRACE_LINK_TEMPLATE).toBe(
      "http://localhost:16686/trace/{traceId}",
    );
  });

  it("runs Jaeger from observability/jaeger/config.yaml: OTLP in on 4318, health where it is probed, bounded storage", async () => {
    const jaeger = serviceOf(compose, "jaeger");
    const mount = (jaeger.volumes ?? []).map(String).find((volume) => volume.includes("jaeger"));
    const [source, target] = (mount ?? "").split(":");
    expect(source).toBe("./observability/jaeger/config.yaml");
    expect(jaeger.command).toEqual(["--config", target]);
    const config = parse(
      await readFile(join(repoRoot, "observability/jaeger/config.yaml"), "utf8"),
    ) as JaegerConfig;
    const port = (endpoint: string | undefined) => endpoint?.split(":").at(-1);
    expect(port(config.receivers?.otlp?.protocols?.http?.endpoint)).toBe("4318");
    expect(config.service?.pipelines?.traces?.receivers).toEqual(["otlp"]);
    const healthPort = port(config.extensions?.healthcheckv2?.http?.endpoint);
    expect(String(jaeger.healthcheck?.test)).toContain(`127.0.0.1:${healthPort}/status`);
    expect(config.service?.extensions).toEqual(
      expect.arrayContaining(["jaeger_storage", "jaeger_query", "healthcheckv2"]),
    );
    const backends = Object.values(config.extensions?.jaeger_storage?.backends ?? {});
    expect(backends.map((backend) => backend.memory?.max_traces)).toEqual([
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the collector's variable syntax
      "${env:JAEGER_MAX_TRACES:-50000}",
    ]);
    expect(environmentOf(jaeger).JAEGER_MAX_TRACES).toBe("50000");
  });

  it("has a load profile whose k6 service runs a load-tests script against the gateway", () => {
    const k6 = serviceOf(compose, "k6");
    expect(k6.profiles).toEqual(["load"]);
    expect(k6.image).toMatch(/^grafana\/k6:/);
    expect(k6.volumes).toContain("./load-tests:/scripts:ro");
    expect(k6.command).toEqual(["run", "/scripts/gateway.ts"]);
    expect(environmentOf(k6).GATEWAY_URL).toBe("http://gateway:4000/graphql");
    expect(dependenciesOf(k6).gateway).toBe("service_healthy");
    const profiled = ["k6", ...MONITORING_SERVICES, ...clusterServicesOf(compose)];
    for (const [name, service] of Object.entries(compose.services))
      if (!profiled.includes(name)) expect(service.profiles, name).toBeUndefined();
  });

  it("sets every app setting to the app's own default, but for deliberate deviations", () => {
    expectAppDefaultsBut(DELIBERATE_DEVIATIONS, compose, shapes);
  });

  it("has a monitoring profile: Prometheus scrapes every app's /metrics on the port it serves them", async () => {
    for (const name of MONITORING_SERVICES)
      expect(serviceOf(compose, name).profiles, name).toEqual(["monitoring"]);
    const prometheus = serviceOf(compose, "prometheus");
    expect(prometheus.image).toMatch(/^prom\/prometheus:v\d/);
    expect(prometheus.volumes).toContain("./observability/prometheus:/etc/prometheus:ro");
    expect(prometheus.command).toContain("--config.file=/etc/prometheus/prometheus.yml");
    expect(String(prometheus.healthcheck?.test)).toContain("127.0.0.1:9090/-/ready");
    expect(publishedPorts(prometheus).map((port) => port.hostPort)).toEqual(["9090"]);

    const config = await loadPrometheusConfig();
    const jobs = new Map((config.scrape_configs ?? []).map((job) => [job.job_name, job]));
    for (const name of Object.keys(APP_SERVICES)) {
      const job = jobs.get(name);
      expect(job, `a scrape job for ${name}`).toBeDefined();
      expect(job?.metrics_path ?? "/metrics", name).toBe("/metrics");
      const environment = environmentOf(serviceOf(compose, name));
      const port = Number(environment.HEALTH_PORT ?? environment.PORT);
      // DNS discovery finds every replica of a scaled service, not just one.
      expect(job?.dns_sd_configs, name).toEqual([{ names: [name], type: "A", port }]);
    }
    expect([...jobs.keys()].sort()).toEqual(Object.keys(APP_SERVICES).sort());
    // Every rule file it names is in the mounted directory and holds alerting rules.
    const ruleFiles = await loadRuleFiles();
    expect(ruleFiles.length).toBeGreaterThan(0);
  });

  it("alerts on lag growth, pending age, dead letters and a group with no live consumer", async () => {
    const rules = (await loadRuleFiles()).flatMap((file) =>
      file.groups.flatMap((group) => group.rules),
    );
    const metricsOf = (alert: string) =>
      metricNamesOf(rules.find((rule) => rule.alert === alert)?.expr ?? "");
    expect(metricsOf("ConsumerLagGrowing")).toEqual(["conveyor_consumer_lag"]);
    expect(metricsOf("PendingEntryStuck")).toEqual(["conveyor_consumer_pending_oldest_age"]);
    expect(metricsOf("DeadLettersArriving")).toEqual(["conveyor_events_dead_lettered_total"]);
    expect(metricsOf("ConsumerGroupWithoutLiveConsumer")).toEqual(["conveyor_consumer_live"]);
    const names = rules.map((rule) => rule.alert);
    expect(new Set(names).size).toBe(names.length);
  });

  it("runs Grafana with the Prometheus data source and the dashboards of observability/grafana provisioned", async () => {
    const grafana = serviceOf(compose, "grafana");
    expect(grafana.image).toMatch(/^grafana\/grafana:\d/);
    expect(dependenciesOf(grafana).prometheus).toBe("service_healthy");
    expect(grafana.volumes).toEqual(
      expect.arrayContaining([
        "./observability/grafana/provisioning:/etc/grafana/provisioning:ro",
        "./observability/grafana/dashboards:/var/lib/grafana/dashboards:ro",
      ]),
    );
    expect(publishedPorts(grafana).map((port) => port.hostPort)).toEqual(["3000"]);
    const environment = environmentOf(grafana);
    expect(environment.GF_ANALYTICS_REPORTING_ENABLED).toBe("false");
    expect(environment.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH).toBe(
      "/var/lib/grafana/dashboards/conveyor.json",
    );

    const provisioning = join(repoRoot, "observability", "grafana", "provisioning");
    const datasources = parse(
      await readFile(join(provisioning, "datasources", "prometheus.yml"), "utf8"),
    ) as { datasources: Array<{ uid: string; type: string; url: string }> };
    expect(datasources.datasources).toEqual([
      expect.objectContaining({
        uid: "prometheus",
        type: "prometheus",
        url: "http://prometheus:9090",
      }),
    ]);
    const providers = parse(
      await readFile(join(provisioning, "dashboards", "conveyor.yml"), "utf8"),
    ) as { providers: Array<{ type: string; options: { path: string } }> };
    expect(providers.providers.map((provider) => provider.options.path)).toEqual([
      "/var/lib/grafana/dashboards",
    ]);

    const dashboards = await loadDashboards();
    expect([...dashboards.keys()]).toContain("conveyor.json");
    for (const [file, dashboard] of dashboards) {
      const ids = dashboard.panels.map((panel) => panel.id);
      expect(new Set(ids).size, `${file}: panel ids are unique`).toBe(ids.length);
      for (const panel of dashboard.panels) {
        if (panel.type === "row") continue;
        expect(panel.datasource?.uid, `${file} / ${panel.title}`).toBe("prometheus");
        expect(panel.targets?.length, `${file} / ${panel.title} has a query`).toBeGreaterThan(0);
      }
    }
  });

  it("charts what an operator watches: throughput, backlog, dead letters, latency, subscribers, placeOrder, the Node runtime", async () => {
    const used = new Set(
      (await monitoringExpressions())
        .filter((expression) => !expression.where.startsWith("alert "))
        .flatMap((expression) => metricNamesOf(expression.expr)),
    );
    for (const metric of [
      "conveyor_events_processed_total",
      "conveyor_consumer_lag",
      "conveyor_consumer_pending",
      "conveyor_consumer_live",
      "conveyor_dead_letter_count",
      "conveyor_events_dead_lettered_total",
      "conveyor_event_processing_duration_bucket",
      "conveyor_subscribers",
      "conveyor_subscribers_slow_closed_total",
      "conveyor_place_order_requests_total",
      "nodejs_eventloop_delay_p99",
      "v8js_gc_duration_bucket",
    ])
      expect(used, metric).toContain(metric);
  });

  it.skipIf(!existsSync(join(repoRoot, "load-tests", "gateway.ts")))(
    "finds the k6 script the load profile runs (skipped until load-tests/gateway.ts exists)",
    () => {
      expect(existsSync(join(repoRoot, "load-tests", "gateway.ts"))).toBe(true);
    },
  );

  it("keeps the Dockerfile's fallback health ports equal to the apps' default ports", async () => {
    const dockerfile = await loadDockerfile();
    const runtime = dockerfile.stages.at(-1);
    const healthcheck = runtime?.instructions.find((entry) => entry.keyword === "HEALTHCHECK");
    const map = /\{([^{}]*'gateway'[^{}]*)\}/.exec(healthcheck?.args ?? "")?.[1] ?? "";
    const fallbacks = Object.fromEntries(
      [...map.matchAll(/'([^']+)':\s*(\d+)/g)].map((match) => [match[1], Number(match[2])]),
    );
    for (const workspace of Object.values(APP_SERVICES)) {
      const shape = shapes.get(workspace) ?? {};
      const portSchema = (shape.HEALTH_PORT ?? shape.PORT) as z.ZodType | undefined;
      expect(portSchema, workspace).toBeDefined();
      expect(fallbacks[workspace], workspace).toBe(portSchema?.parse(undefined));
    }
  });

  it("documents every variable it reads in .env.example, with the same default", async () => {
    const example = await readFile(join(repoRoot, ".env.example"), "utf8");
    const documented = new Map<string, string>();
    for (const match of example.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=(.*)$/gm))
      if (match[1]) documented.set(match[1], (match[2] ?? "").trim());
    const defaults = new Map<string, string | undefined>();
    const { references: everyReference } = await loadCompose({}, CLUSTER_FILES);
    for (const reference of [...references, ...everyReference])
      defaults.set(reference.name, reference.defaultValue);
    for (const [name, defaultValue] of defaults) {
      expect(documented.has(name), `.env.example must document ${name}`).toBe(true);
      expect(documented.get(name), `${name}'s default`).toBe(defaultValue ?? "");
    }
    for (const name of documented.keys())
      expect(defaults.has(name), `.env.example documents ${name}, which compose never reads`).toBe(
        true,
      );
  });

  it("gives the same services with the values of .env.example as without a .env", async () => {
    const example = await readFile(join(repoRoot, ".env.example"), "utf8");
    const variables = Object.fromEntries(
      [...example.matchAll(/^\s*([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((match) => [
        match[1] ?? "",
        (match[2] ?? "").trim(),
      ]),
    );
    const withExample = await loadCompose(variables);
    expect(withExample.compose).toEqual(compose);
    const clusterWithExample = await loadCompose(variables, CLUSTER_FILES);
    expect(clusterWithExample.compose).toEqual((await loadCompose({}, CLUSTER_FILES)).compose);
  });

  it.skipIf(!promtool)(
    `has alert rules promtool accepts, and passes their unit tests${promtool ? "" : " (skipped: promtool is not installed; set PROMTOOL)"}`,
    async () => {
      const prometheusDir = join(repoRoot, "observability", "prometheus");
      const run = (args: string[]) =>
        execFileAsync(promtool ?? "promtool", args, { cwd: prometheusDir });
      await run(["check", "rules", "alerts.yml"]);
      const { stdout } = await run(["test", "rules", "alerts.test.yml"]);
      expect(stdout).toContain("SUCCESS");
    },
  );

  it.skipIf(!dockerCompose)(
    `is valid for docker-compose config -q${dockerCompose ? "" : " (skipped: docker-compose is not installed; apt-get install docker-compose)"}`,
    async () => {
      // An empty environment: a developer's REDIS_URL or NODE_ENV must not decide the outcome,
      // and a local .env is ignored by pointing --env-file at .env.example.
      const options = { cwd: repoRoot, env: { PATH: process.env.PATH ?? "" } };
      for (const args of [
        ["config", "-q"],
        ["--profile", "load", "config", "-q"],
        ["--profile", "monitoring", "config", "-q"],
        ["--env-file", ".env.example", "config", "-q"],
        [...CLUSTER_FILES.flatMap((file) => ["-f", file]), "--profile", "cluster", "config", "-q"],
      ]) {
        const { stderr } = await execFileAsync(dockerCompose ?? "docker-compose", args, options);
        expect(stderr.trim(), args.join(" ")).toBe("");
      }
    },
  );
});

describe("docker-compose.yml's cluster profile with docker-compose.cluster.yml", () => {
  let base: ComposeFile;
  let compose: ComposeFile;
  const shapes = new Map<string, z.ZodRawShape>();

  beforeAll(async () => {
    ({ compose: base } = await loadCompose());
    ({ compose } = await loadCompose({}, CLUSTER_FILES));
    for (const workspace of Object.values(APP_SERVICES))
      shapes.set(workspace, await envShapeOf(workspace));
  });

  it("runs six Redis nodes: cluster-enabled, AOF on, noeviction, announcing their service names, each with its own volume", () => {
    const nodes = clusterNodesOf(compose);
    expect(nodes).toEqual([1, 2, 3, 4, 5, 6].map((index) => `redis-cluster-${index}`));
    for (const name of nodes) {
      const node = serviceOf(compose, name);
      expect(node.profiles, name).toEqual(["cluster"]);
      expect(node.image, name).toBe(serviceOf(compose, "redis").image);
      const command = ([] as string[]).concat(node.command ?? []).join(" ");
      for (const setting of [
        /--cluster-enabled yes\b/,
        /--appendonly yes\b/,
        /--maxmemory-policy noeviction\b/,
        /--cluster-announce-hostname "\$REDIS_NODE_NAME"/,
        /--cluster-preferred-endpoint-type hostname\b/,
      ])
        expect(command, name).toMatch(setting);
      // Through the image's entrypoint, which drops root before starting redis-server.
      expect(command, name).toMatch(/^sh -c exec docker-entrypoint\.sh redis-server /);
      expect(environmentOf(node).REDIS_NODE_NAME, name).toBe(name);
      expect(node.volumes, name).toEqual([`${name}-data:/data`]);
      expect(compose.volumes ?? {}, name).toHaveProperty(`${name}-data`);
      expect(JSON.stringify(node.healthcheck?.test), name).toContain("redis-cli ping");
      expect(node.restart, name).toBe("unless-stopped");
      expect(publishedPorts(node), name).toEqual([]);
    }
  });

  it("creates the cluster from a one-shot container, once every node is healthy: three masters, a replica each", () => {
    const init = serviceOf(compose, CLUSTER_INIT);
    const nodes = clusterNodesOf(compose);
    expect(init.profiles).toEqual(["cluster"]);
    expect(init.restart).toBe("no");
    expect(dependenciesOf(init)).toEqual(
      Object.fromEntries(nodes.map((name) => [name, "service_healthy"])),
    );
    expect(environmentOf(init).NODES).toBe(nodes.map((name) => `${name}:6379`).join(" "));
    const script = ([] as string[]).concat(init.command ?? []).join(" ");
    expect(script).toContain(
      "redis-cli --cluster create $addresses --cluster-replicas 1 --cluster-yes",
    );
    // Six nodes with one replica each make three masters.
    expect(nodes.length / (1 + 1)).toBe(3);
  });

  it("points every app at every node once the cluster is created, and changes nothing else", () => {
    const seeds = clusterNodesOf(compose)
      .map((name) => `${name}:6379`)
      .join(",");
    for (const name of Object.keys(APP_SERVICES)) {
      const app = serviceOf(compose, name);
      const environment = environmentOf(app);
      expect(environment.REDIS_CLUSTER_NODES, name).toBe(seeds);
      expect(environment.STREAM_PARTITIONS, name).toBe("4");
      expect(dependenciesOf(app)[CLUSTER_INIT], name).toBe("service_completed_successfully");
      const { REDIS_CLUSTER_NODES, STREAM_PARTITIONS, ...others } = environment;
      expect(others, name).toEqual(environmentOf(serviceOf(base, name)));
      const { [CLUSTER_INIT]: _init, ...otherDependencies } = dependenciesOf(app);
      expect(otherDependencies, name).toEqual(dependenciesOf(serviceOf(base, name)));
    }
    const { services: clusterServices, volumes: clusterVolumes, ...rest } = compose;
    const { services: baseServices, volumes: baseVolumes, ...baseRest } = base;
    expect(rest).toEqual(baseRest);
    expect(Object.keys(clusterServices).sort()).toEqual(Object.keys(baseServices).sort());
    expect(clusterVolumes).toEqual(baseVolumes);
  });

  it("gives the apps cluster settings their env schemas read and accept", () => {
    expectAppSettingsPassSchemas(compose, shapes);
    expectNoUnreadAppSettings(compose, shapes);
    expectAppDefaultsBut(CLUSTER_DEVIATIONS, compose, shapes);
  });
});
