/**
 * `npm run bench`: Conveyor's benchmark. Starts its own redis-server and real service processes
 * and measures, in one run: (a) the raw Redis ceiling, (b) each service's drain rate alone,
 * (c) end-to-end orders/s and latency with tracing off and on, (d) a slow payment processor,
 * (e) fan-out to many SSE subscribers and (f) the single Redis against a three-master Redis
 * Cluster with several partition counts. Prints tables, or one JSON document with `--json`.
 *
 * Flags: --quick (small and short, checks only that every section works), --json,
 * --only ceiling,services,e2e,slow,fanout,cluster, --tracing off,on (the e2e runs), --profile DIR
 * (V8 CPU profiles of every service process), --out FILE (also write the JSON there),
 * --otlp-sink count|decode (what the e2e's in-process OTLP receiver does with the spans),
 * --gateway-node-args="…" (extra Node flags for the gateway in (c) and (e), such as a heap limit).
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, freemem, loadavg, totalmem } from "node:os";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { startOtlpReceiver } from "../services/testkit/src/otlp-receiver.ts";
import { startRedisServer } from "../services/testkit/src/redis-server.ts";
import { hasApp } from "./lib/apps.ts";
import {
  type CapacityProjection,
  clusterTopology,
  measureDrainsOn,
  measureSystemOn,
  type PhaseFigures,
  projectCapacity,
  type ShardFigures,
  singleTopology,
  startBenchCluster,
  type Topology,
  type TopologyDrainResult,
  type TopologyLoopResult,
  topologyName,
} from "./lib/cluster.ts";
import {
  type ClosedLoopResult,
  HOPS,
  type OpenLoopResult,
  runClosedLoop,
  runOpenLoop,
  settle,
  startBenchSystem,
  trackShipments,
  warmUp,
} from "./lib/end-to-end.ts";
import { type FanoutResult, measureFanout } from "./lib/fanout.ts";
import type { ServiceName } from "./lib/fixtures.ts";
import { createGatewayClient } from "./lib/gateway-client.ts";
import { cpuSnapshot } from "./lib/measure.ts";
import { renderTables, type Table } from "./lib/report.ts";
import {
  type CeilingResult,
  type ConsumerSetting,
  measureCeiling,
  measureServiceDrain,
  type ServiceDrainResult,
  type StreamBenchContext,
} from "./lib/services.ts";

const SECTIONS = ["ceiling", "services", "e2e", "slow", "fanout", "cluster"] as const;
type Section = (typeof SECTIONS)[number];

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    only: { type: "string" },
    profile: { type: "string" },
    out: { type: "string" },
    tracing: { type: "string", default: "off,on" },
    // `count`: the receiver stands for a collector on another machine and only counts spans;
    // `decode`: it decodes every span on the bench's cores, as the tests' receiver does.
    "otlp-sink": { type: "string", default: "count" },
    // What a container's memory limit would set, for example: Node derives its heap limit from it.
    "gateway-node-args": { type: "string", default: "" },
  },
});

const gatewayNodeArgs = flags["gateway-node-args"].split(" ").filter((arg) => arg.length > 0);

/** Sizes and settings of a run: the full one, or the quick one CI runs. */
const plan = flags.quick
  ? {
      drainCount: 500,
      ceilingBatches: [50],
      settings: [{ concurrency: 64, batchSize: 50 }] as ConsumerSetting[],
      openRates: [20],
      openSeconds: 1,
      closedWorkers: [4],
      closedSeconds: 1,
      slowCount: 64,
      slowConcurrencies: [64],
      fanoutSteps: [
        { subscribers: 1, ordersPerSecond: 10 },
        { subscribers: 10, ordersPerSecond: 10 },
      ],
      fanoutSeconds: 1,
      clusterPartitions: [4],
      clusterSeconds: 1,
      clusterFixedRate: 20,
      clusterDrainCount: 500,
    }
  : {
      drainCount: 20_000,
      ceilingBatches: [10, 50, 200],
      settings: [
        { concurrency: 16, batchSize: 10 },
        { concurrency: 64, batchSize: 50 },
        { concurrency: 256, batchSize: 200 },
      ] as ConsumerSetting[],
      openRates: [25, 50, 100, 150, 200, 300, 500, 1000, 2000],
      openSeconds: 10,
      closedWorkers: [8, 64],
      closedSeconds: 10,
      slowCount: 2_000,
      slowConcurrencies: [64, 256, 1024],
      // The targets: 1,000 subscribers at 20 orders/s against 1 at the same rate, then 10,000 at 5.
      fanoutSteps: [
        { subscribers: 1, ordersPerSecond: 20 },
        { subscribers: 1000, ordersPerSecond: 20 },
        { subscribers: 1, ordersPerSecond: 5 },
        { subscribers: 10_000, ordersPerSecond: 5 },
      ],
      fanoutSeconds: 10,
      // The cluster section: the single Redis, then three masters with each partition count.
      clusterPartitions: [1, 4, 12],
      clusterSeconds: 10,
      // An open loop at one rate on every topology, so their CPU per order compares (per-order
      // costs fall as the rate rises and batches fill; the closed loops reach different rates).
      clusterFixedRate: 150,
      clusterDrainCount: 10_000,
    };

/** The cluster section's closed loop and drain setting: the e2e's 64 clients, (b)'s default. */
const CLUSTER_WORKERS = 64;
const CLUSTER_SETTING: ConsumerSetting = { concurrency: 64, batchSize: 50 };
const CLUSTER_MASTERS = 3;
/** The master counts the cluster section projects its per-order costs onto. */
const PROJECTED_MASTERS = [1, 3, 6, 12, 24];

const selected = new Set<Section>(
  flags.only ? (flags.only.split(",").map((name) => name.trim()) as Section[]) : SECTIONS,
);
if (!["count", "decode"].includes(flags["otlp-sink"])) {
  throw new Error(`--otlp-sink ${flags["otlp-sink"]}: count or decode`);
}
for (const name of selected) {
  if (!SECTIONS.includes(name)) throw new Error(`unknown section ${name}; one of ${SECTIONS}`);
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

function machine() {
  const cpuModel = /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1];
  let redisVersion = "unknown";
  try {
    redisVersion = execFileSync("redis-server", ["--version"], { encoding: "utf8" }).trim();
  } catch {}
  let commit = "unknown";
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
  } catch {}
  return {
    commit,
    cpus: cpus().length,
    cpuModel: cpuModel ?? cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    freeMemoryGiB: Math.round((freemem() / 2 ** 30) * 10) / 10,
    node: process.version,
    redis: redisVersion,
  };
}

interface SectionReport {
  section: Section;
  seconds: number;
  /** 1-minute load average before and after: other work on the machine skews every figure. */
  loadAverage: [before: number, after: number];
  skipped?: string;
  error?: string;
  /** Redis's own latency monitor (events over 50 ms: AOF fsync waits, slow commands, forks). */
  redisLatency?: Array<{ event: string; maxMs: number }>;
  results: unknown;
}

const reports: SectionReport[] = [];
const tables: Table[] = [];

async function section(name: Section, run: () => Promise<unknown>, skipReason?: string) {
  if (!selected.has(name)) return;
  const before = loadavg()[0] ?? 0;
  const started = performance.now();
  const report: SectionReport = {
    section: name,
    seconds: 0,
    loadAverage: [before, before],
    results: null,
  };
  if (skipReason) {
    report.skipped = skipReason;
    log(`${name}: skipped (${skipReason})`);
  } else {
    log(`${name}: running`);
    await redis.call("LATENCY", "RESET").catch(() => {});
    try {
      report.results = await run();
    } catch (error) {
      report.error = error instanceof Error ? (error.stack ?? error.message) : String(error);
      log(`${name}: FAILED ${report.error}`);
    }
  }
  const latest = (await redis.call("LATENCY", "LATEST").catch(() => [])) as Array<
    [string, number, number, number]
  >;
  if (latest.length > 0) {
    report.redisLatency = latest.map(([event, , , maxMs]) => ({ event, maxMs: Number(maxMs) }));
    log(`${name}: Redis latency events ${JSON.stringify(report.redisLatency)}`);
  }
  report.seconds = Math.round((performance.now() - started) / 100) / 10;
  report.loadAverage = [before, loadavg()[0] ?? 0];
  reports.push(report);
  log(`${name}: done in ${report.seconds} s`);
}

const redisServer = await startRedisServer({ isPersistent: true });
const redis = new Redis(redisServer.url);
await redis.config("SET", "latency-monitor-threshold", "50");
const context: StreamBenchContext = {
  redis,
  redisUrl: redisServer.url,
  profileDir: flags.profile,
};
const gatewayMissing = hasApp("gateway") ? undefined : "gateway/src/main.ts is not there yet";
let ceilingAt50 = Number.NaN;
const startedAt = new Date().toISOString();

try {
  await section("ceiling", async () => {
    const results: CeilingResult[] = [];
    for (const batchSize of plan.ceilingBatches) {
      results.push(await measureCeiling(context, plan.drainCount, batchSize, "forward"));
      log(`ceiling batch ${batchSize}: ${Math.round(results.at(-1)?.perSecond ?? 0)}/s`);
    }
    results.push(await measureCeiling(context, plan.drainCount, 50, "ack"));
    ceilingAt50 = results.find((r) => r.batchSize === 50 && r.mode === "forward")?.perSecond ?? NaN;
    tables.push({
      title: "(a) Raw Redis ceiling: XREADGROUP, then XADD per entry + XACK per batch, pipelined",
      headers: [
        "mode",
        "batch",
        "entries",
        "entries/s",
        "consumer CPU %",
        "Redis CPU %",
        "consumer CPU µs/entry",
        "Redis CPU µs/entry",
        "XADD fill/s",
      ],
      rows: results.map((r) => [
        r.mode === "forward" ? "read+forward+ack" : "read+ack only",
        r.batchSize,
        r.count,
        r.perSecond,
        r.consumerCpuPercent,
        r.redis.cpuPercent,
        (r.consumerCpuPercent * 10_000) / r.perSecond,
        (r.redis.cpuPercent * 10_000) / r.perSecond,
        r.fillPerSecond,
      ]),
      notes: ["consumer: bench/lib/ceiling-worker.ts, up to 4 batches in flight, no decoding"],
    });
    return results;
  });

  await section("services", async () => {
    const results: ServiceDrainResult[] = [];
    const ceilings = new Map<number, number>();
    for (const report of reports) {
      if (report.section !== "ceiling" || !Array.isArray(report.results)) continue;
      for (const r of report.results as CeilingResult[]) {
        if (r.mode === "forward") ceilings.set(r.batchSize, r.perSecond);
      }
    }
    for (const service of ["inventory", "payment", "shipment"] as ServiceName[]) {
      for (const setting of plan.settings) {
        const result = await measureServiceDrain(context, service, plan.drainCount, setting, 0);
        if (result.outputs !== result.count || result.deadLetters > 0) {
          throw new Error(
            `${service} published ${result.outputs} of ${result.count} outputs, ${result.deadLetters} dead letters`,
          );
        }
        results.push(result);
        log(
          `${service} c${setting.concurrency} b${setting.batchSize}: ${Math.round(result.perSecond)}/s`,
        );
      }
    }
    tables.push({
      title: "(b) Each service alone: drain of a pre-filled input stream (PAYMENT_LATENCY_MS=0)",
      headers: [
        "service",
        "concurrency",
        "batch",
        "events",
        "events/s",
        "× ceiling",
        "service CPU %",
        "Redis CPU %",
        "service CPU µs/event",
        "Redis CPU µs/event",
        "Redis cmds/event",
      ],
      rows: results.map((r) => [
        r.service,
        r.concurrency,
        r.batchSize,
        r.count,
        r.perSecond,
        r.perSecond / (ceilings.get(r.batchSize) ?? ceilingAt50),
        r.consumerCpuPercent,
        r.redis.cpuPercent,
        (r.consumerCpuPercent * 10_000) / r.perSecond,
        (r.redis.cpuPercent * 10_000) / r.perSecond,
        r.redis.commandsPerSecond / r.perSecond,
      ]),
      notes: [
        "× ceiling: ratio to (a) read+forward+ack at the same batch size, same run",
        "CPU µs/event: CPU time per event (/proc, INFO cpu); a busy machine lowers events/s far more than it changes this",
      ],
    });
    return results;
  });

  await section(
    "e2e",
    async () => {
      const runs: Array<{
        tracing: boolean;
        openLoop: OpenLoopResult[];
        closedLoop: ClosedLoopResult[];
        spansReceived: number;
        /** What the OTLP receiver did with the spans: `count` or `decode`. */
        otlpSink?: string;
      }> = [];
      const tracingModes = flags.tracing.split(",").map((mode) => mode.trim() === "on");
      for (const tracing of tracingModes) {
        await redis.flushall();
        const receiver = tracing
          ? await startOtlpReceiver({ isDecoding: flags["otlp-sink"] === "decode" })
          : undefined;
        const drainSpans = setInterval(() => {
          if (receiver) receiver.spans.length = 0;
        }, 1_000);
        const bootStarted = performance.now();
        const system = await startBenchSystem(
          {
            redisUrl: redisServer.url,
            prefix: `bench:e2e:${tracing ? "traced" : "plain"}:`,
            otlpEndpoint: receiver?.endpoint,
            profileDir: flags.profile
              ? `${flags.profile}/e2e-${tracing ? "traced" : "plain"}`
              : undefined,
            gatewayNodeArgs,
          },
          { gateway: { PLACE_ORDER_RATE_LIMIT: "0" } },
        );
        const client = createGatewayClient(system.gatewayUrl, 128);
        const tracker = trackShipments(system.gatewayUrl);
        const pids = Object.fromEntries(
          [...system.processes].map(([app, child]) => [app, child.pid]),
        );
        const cpu = () => cpuSnapshot(pids, redis);
        try {
          log(`e2e system up in ${Math.round(performance.now() - bootStarted)} ms`);
          await warmUp(client, tracker);
          log(`e2e warm after ${Math.round(performance.now() - bootStarted)} ms`);
          const openLoop: OpenLoopResult[] = [];
          for (const rate of plan.openRates) {
            await settle(tracker);
            const result = await runOpenLoop(client, tracker, rate, plan.openSeconds, cpu);
            openLoop.push(result);
            log(
              `e2e ${tracing ? "traced" : "plain"} open ${rate}/s: ${Math.round(result.shippedPerSecond)}/s p99 ${Math.round(result.latencyMs.p99)} ms`,
            );
            if (!result.isKeepingUp) break;
          }
          const closedLoop: ClosedLoopResult[] = [];
          for (const workers of plan.closedWorkers) {
            await settle(tracker, 500, 60_000);
            const result = await runClosedLoop(client, tracker, workers, plan.closedSeconds, cpu);
            closedLoop.push(result);
            log(`e2e closed ${workers} workers: ${Math.round(result.shippedPerSecond)}/s`);
          }
          runs.push({
            tracing,
            openLoop,
            closedLoop,
            spansReceived: receiver?.spanCount ?? 0,
            ...(receiver ? { otlpSink: flags["otlp-sink"] } : {}),
          });
        } finally {
          clearInterval(drainSpans);
          tracker.close();
          client.close();
          await system.stop();
          await receiver?.stop();
        }
      }
      for (const run of runs) {
        const tracing = run.tracing ? "on" : "off";
        tables.push({
          title: `(c) End-to-end, tracing ${tracing}: placeOrder → shipment.created seen on an \`events\` subscription`,
          headers: [
            "load",
            "offered/s",
            "shipped/s",
            "errors",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "placeOrder p99 ms",
            "keeps up",
            "CPU ms/order gw·inv·pay·ship·redis·bench",
          ],
          rows: [
            ...run.openLoop.map((r) => [
              `open ${r.durationSeconds} s`,
              r.offeredPerSecond,
              r.shippedPerSecond,
              r.errors + (r.placed - r.shipped),
              r.latencyMs.p50,
              r.latencyMs.p90,
              r.latencyMs.p99,
              r.placeOrderMs.p99,
              r.isKeepingUp ? "yes" : "NO",
              cpuCell(r.cpuMsPerOrder),
            ]),
            ...run.closedLoop.map((r) => [
              `closed, ${r.workers} clients`,
              "–",
              r.shippedPerSecond,
              r.errors,
              r.latencyMs.p50,
              r.latencyMs.p90,
              r.latencyMs.p99,
              "–",
              "–",
              cpuCell(r.cpuMsPerOrder),
            ]),
          ],
          notes: run.tracing
            ? [
                `spans received by the in-process OTLP sink (${run.otlpSink === "decode" ? "each decoded" : "counted, not decoded"}): ${run.spansReceived}`,
              ]
            : [],
        });
        tables.push({
          title: `(c) Where the time goes, tracing ${tracing}: p50 / p99 ms of each hop (open loop)`,
          headers: ["offered/s", ...HOPS.map((hop) => `→ ${hop}`)],
          rows: run.openLoop.map((r) => [
            r.offeredPerSecond,
            ...HOPS.map((hop) => {
              const p = r.hopsMs[hop];
              return p ? `${Math.round(p.p50)} / ${Math.round(p.p99)}` : "–";
            }),
          ]),
          notes: [
            "each hop ends at that step's occurredAt; → order.created includes the client's queue and placeOrder up to the publish; → subscriber is projection + feed + SSE",
          ],
        });
      }
      return runs;
    },
    gatewayMissing,
  );

  await section("slow", async () => {
    const results: ServiceDrainResult[] = [];
    for (const concurrency of plan.slowConcurrencies) {
      const setting = { concurrency, batchSize: 50 };
      results.push(await measureServiceDrain(context, "payment", plan.slowCount, setting, 500));
      log(`slow payment c${concurrency}: ${Math.round(results.at(-1)?.perSecond ?? 0)}/s`);
    }
    tables.push({
      title: "(d) Slow processor: one payment process, PAYMENT_LATENCY_MS=500",
      headers: ["concurrency", "orders", "orders/s", "bound CONCURRENCY/0.5 s", "service CPU %"],
      rows: results.map((r) => [
        r.concurrency,
        r.count,
        r.perSecond,
        r.concurrency / 0.5,
        r.consumerCpuPercent,
      ]),
    });
    return results;
  });

  await section(
    "fanout",
    async () => {
      await redis.flushall();
      const system = await startBenchSystem(
        {
          redisUrl: redisServer.url,
          prefix: "bench:fanout:",
          profileDir: flags.profile ? `${flags.profile}/fanout` : undefined,
          gatewayNodeArgs,
        },
        { gateway: { PLACE_ORDER_RATE_LIMIT: "0" } },
      );
      const client = createGatewayClient(system.gatewayUrl, 16);
      const tracker = trackShipments(system.gatewayUrl);
      const results: FanoutResult[] = [];
      try {
        await warmUp(client, tracker, 5);
        tracker.close();
        for (const { subscribers, ordersPerSecond } of plan.fanoutSteps) {
          const result = await measureFanout({
            gatewayUrl: system.gatewayUrl,
            gatewayPid: system.processes.get("gateway")?.pid as number,
            redis,
            subscribers,
            ordersPerSecond,
            windowSeconds: plan.fanoutSeconds,
          });
          results.push(result);
          log(
            `fanout ${subscribers} at ${ordersPerSecond}/s: gateway CPU ${Math.round(result.gatewayCpuPercent)}%, lag p99 ${Math.round(result.deliveryLagMs.p99)} ms, placeOrder p99 ${Math.round(result.placeOrderMs.p99)} ms`,
          );
        }
      } finally {
        tracker.close();
        client.close();
        await system.stop();
      }
      tables.push({
        title: "(e) Fan-out: SSE subscribers on `events` while orders flow",
        headers: [
          "subscribers",
          "orders/s offered",
          "orders/s placed",
          "events/s each",
          "min delivered",
          "lag p50/p99 first ms",
          "lag p50/p99 last ms",
          "placeOrder p50/p99 ms",
          "gateway CPU %",
          "gateway µs/extra frame",
          "gateway RSS MiB",
          "bench CPU %",
          "Redis cmds/s",
          "XREAD/s",
          "Redis CPU %",
        ],
        rows: results.map((r) => [
          r.subscribers,
          r.ordersPerSecond,
          r.placedPerSecond,
          r.eventsPerSecond,
          `${Math.round(r.minDeliveredRatio * 1000) / 10} %`,
          `${Math.round(r.deliveryLagMs.p50)} / ${Math.round(r.deliveryLagMs.p99)}`,
          `${Math.round(r.lastSubscriberLagMs.p50)} / ${Math.round(r.lastSubscriberLagMs.p99)}`,
          `${Math.round(r.placeOrderMs.p50)} / ${Math.round(r.placeOrderMs.p99)}`,
          r.gatewayCpuPercent,
          perAdditionalFrame(r, results),
          r.gatewayRssMiB,
          r.benchCpuPercent,
          r.redisCommandsPerSecond,
          r.redisXreadPerSecond,
          r.redisCpuPercent,
        ]),
        notes: [
          "lag: event occurredAt (producer clock) → frame parsed by the first / the last subscriber",
          "µs/extra frame: gateway CPU above the 1-subscriber run at the same rate, per frame delivered beyond its",
          "bench CPU: this process, which reads every subscriber's stream (it shares the 2 cores)",
        ],
      });
      return results;
    },
    gatewayMissing,
  );

  await section(
    "cluster",
    async () => {
      const services: ServiceName[] = ["inventory", "payment", "shipment"];
      const bench = await startBenchCluster(CLUSTER_MASTERS);
      try {
        const topologies: Topology[] = [singleTopology(redis, redisServer.url)];
        for (const partitions of plan.clusterPartitions) {
          topologies.push(await clusterTopology(bench, partitions));
        }
        const closedLoop: TopologyLoopResult[] = [];
        const drains: TopologyDrainResult[] = [];
        for (const topology of topologies) {
          const name = `${topologyName(topology)} P=${topology.partitions}`;
          const loop = await measureSystemOn(topology, {
            workers: CLUSTER_WORKERS,
            seconds: plan.clusterSeconds,
            fixedRate: plan.clusterFixedRate,
            profileDir: flags.profile,
          });
          closedLoop.push(loop);
          log(
            `cluster ${name} closed ${CLUSTER_WORKERS}: ${Math.round(loop.shippedPerSecond)}/s, Redis µs/order per shard ${loop.perShard.map((shard) => Math.round(shard.cpuUsPerUnit)).join(" · ")}`,
          );
          for (const problems of loop.logProblems) {
            log(
              `cluster ${name}: ${problems.app} logged ${problems.errors} errors, ${problems.warnings} warnings: ${problems.first.join(" | ")}`,
            );
          }
          for (const result of await measureDrainsOn(
            context,
            topology,
            services,
            plan.clusterDrainCount,
            [CLUSTER_SETTING],
          )) {
            drains.push(result);
            log(
              `cluster ${name} ${result.service} c${result.concurrency} drain: ${Math.round(result.perSecond)}/s`,
            );
          }
        }
        const latency: Array<{ shard: number; event: string; maxMs: number }> = [];
        for (const [shard, master] of bench.masters.entries()) {
          const latest = (await master.call("LATENCY", "LATEST")) as Array<
            [string, number, number, number]
          >;
          for (const [event, , , maxMs] of latest)
            latency.push({ shard, event, maxMs: Number(maxMs) });
        }
        if (latency.length > 0) log(`cluster: Redis latency events ${JSON.stringify(latency)}`);
        // The projection takes the run with the most partitions: the catalog's cost is measured
        // there against masters that each serve partitions.
        const widest = closedLoop.filter((run) => run.catalog).at(-1);
        const projection = widest?.catalog
          ? projectCapacity(widest, widest.catalog.catalogUsPerUnit, PROJECTED_MASTERS)
          : [];
        tables.push(...clusterTables(closedLoop, drains, widest, projection));
        return {
          layouts: topologies.map((topology) => ({
            redis: topology.kind,
            partitions: topology.partitions,
            layout: topology.layout,
          })),
          closedLoop,
          drains,
          projection,
          projectedFrom: widest
            ? { redisKind: widest.redisKind, partitions: widest.partitions }
            : null,
          clusterLatency: latency,
        };
      } finally {
        await bench.stop();
      }
    },
    gatewayMissing,
  );
} finally {
  redis.disconnect();
  await redisServer.stop();
}

const document = {
  startedAt,
  mode: flags.quick ? "quick" : "full",
  machine: machine(),
  plan,
  sections: reports,
};
if (flags.out) writeFileSync(flags.out, `${JSON.stringify(document, null, 2)}\n`);
if (flags.json) process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
else {
  const m = document.machine;
  process.stdout.write(
    `Conveyor bench (${document.mode}) — ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, ${m.redis}\n`,
  );
  process.stdout.write(`${renderTables(tables)}\n`);
  for (const report of reports) {
    if (report.skipped) process.stdout.write(`\n${report.section}: skipped — ${report.skipped}\n`);
    if (report.error) process.stdout.write(`\n${report.section}: FAILED — ${report.error}\n`);
  }
}

// Every selected section must have run and produced its figures (quick mode is CI's smoke test
// of exactly that). Never a speed: the figures depend on the machine.
const problems: string[] = [...selected]
  .filter((name) => !reports.some((r) => r.section === name))
  .map((name) => `${name}: did not run`);
for (const report of reports) {
  const problem = report.error
    ? "failed"
    : report.skipped
      ? `skipped (${report.skipped})`
      : missingFigures(report.section, report.results);
  if (problem) problems.push(`${report.section}: ${problem}`);
}
if (problems.length > 0) {
  process.stderr.write(`[bench] incomplete:\n  ${problems.join("\n  ")}\n`);
  process.exit(1);
}
process.exit(0);

/**
 * The gateway's CPU per frame delivered beyond the 1-subscriber run at the same order rate: what
 * one more subscriber costs per event. Blank for the 1-subscriber runs themselves.
 */
function perAdditionalFrame(run: FanoutResult, runs: readonly FanoutResult[]): number | string {
  const base = runs.find((r) => r.subscribers === 1 && r.ordersPerSecond === run.ordersPerSecond);
  if (!base || run === base) return "–";
  const extraFrames = run.subscribers * run.eventsPerSecond - base.eventsPerSecond;
  const extraCpuUs = (run.gatewayCpuPercent - base.gatewayCpuPercent) * 10_000;
  return extraFrames > 0 ? extraCpuUs / extraFrames : Number.NaN;
}

/** CPU ms per order of gateway, inventory, payment, shipment, Redis and the bench itself. */
function cpuCell(perOrder: Record<string, number>): string {
  return ["gateway", "inventory", "payment", "shipment", "redis", "bench"]
    .map((name) => (perOrder[name] ?? Number.NaN).toFixed(2))
    .join(" · ");
}

/** What a section's results lack, if anything: each expected row, with work done in it. */
function missingFigures(name: Section, results: unknown): string | undefined {
  if (name === "cluster") return missingClusterFigures(results);
  if (!Array.isArray(results) || results.length === 0) return "no results";
  switch (name) {
    case "ceiling":
    case "services":
    case "slow":
      return (results as Array<{ perSecond: number }>).every((r) => r.perSecond > 0)
        ? undefined
        : "a drain measured nothing";
    case "e2e": {
      const runs = results as Array<{ openLoop: OpenLoopResult[]; closedLoop: ClosedLoopResult[] }>;
      const isComplete =
        runs.length === flags.tracing.split(",").length &&
        runs.every(
          (run) =>
            run.openLoop.length > 0 &&
            run.closedLoop.length === plan.closedWorkers.length &&
            [...run.openLoop, ...run.closedLoop].every((r) => r.shipped > 0),
        );
      return isComplete ? undefined : "a load step shipped no order";
    }
    case "fanout":
      return results.length === plan.fanoutSteps.length &&
        (results as FanoutResult[]).every((r) => r.minDeliveredRatio > 0)
        ? undefined
        : "a subscriber count is missing or received nothing";
  }
}

/**
 * What the cluster section lacks: a closed loop and three drains on the single Redis and on each
 * partition count, each with work done and every master's CPU read; the catalog's cost and the
 * projection from the cluster runs.
 */
function missingClusterFigures(results: unknown): string | undefined {
  const found = results as {
    closedLoop?: TopologyLoopResult[];
    drains?: TopologyDrainResult[];
    projection?: unknown[];
  } | null;
  const runs = 1 + plan.clusterPartitions.length;
  const hasShards = (shards: readonly ShardFigures[], masters: number) =>
    shards.length === masters && shards.every((shard) => Number.isFinite(shard.cpuUsPerUnit));
  const loops = found?.closedLoop ?? [];
  if (
    loops.length !== runs ||
    !loops.every(
      (run) =>
        run.shipped > 0 &&
        hasShards(run.perShard, run.masters) &&
        (run.fixedRate?.shipped ?? 0) > 0 &&
        hasShards(run.fixedRate?.perShard ?? [], run.masters),
    )
  ) {
    return "a closed loop is missing, shipped no order or lacks a master's figures";
  }
  const drains = found?.drains ?? [];
  if (
    drains.length !== runs * 3 ||
    !drains.every((run) => run.perSecond > 0 && hasShards(run.perShard, run.masters))
  ) {
    return "a service drain is missing, measured nothing or lacks a master's figures";
  }
  if (!loops.some((run) => run.catalog) || (found?.projection ?? []).length === 0) {
    return "no cluster run measured the catalog slot's cost";
  }
  return undefined;
}

/** What a master serves, for the tables: its non-partition tags and how many partitions. */
function serves(shard: ShardFigures, partitions: number): string {
  const named = shard.tags.filter((tag) => partitions === 1 || !tag.startsWith("{orders"));
  if (partitions > 1 && shard.partitions > 0) {
    named.push(`${shard.partitions} partition${shard.partitions === 1 ? "" : "s"}`);
  }
  return named.length > 0 ? named.join(" ") : "–";
}

/** The cluster section's tables: end to end, per shard, per service, the catalog, the projection. */
function clusterTables(
  loops: readonly TopologyLoopResult[],
  drains: readonly TopologyDrainResult[],
  widest: TopologyLoopResult | undefined,
  projection: readonly CapacityProjection[],
): Table[] {
  const name = (run: { redisKind: string; masters: number }) =>
    run.redisKind === "single" ? "single" : `cluster ×${run.masters}`;
  const eachShard = (shards: readonly ShardFigures[], pick: (shard: ShardFigures) => string) =>
    shards.map(pick).join(" · ");
  const us = (value: number) => Math.round(value).toLocaleString("en-US");
  const share = (value: number) => `${Math.round(value * 100)} %`;
  // Each topology's load phases: the open loop at the fixed rate, then the closed loop.
  const phases = loops.flatMap((run) => [
    ...(run.fixedRate
      ? [
          {
            run,
            load: `open ${run.fixedRate.offeredPerSecond}/s`,
            figures: run.fixedRate as PhaseFigures,
            shipped: run.fixedRate.shipped,
            shippedPerSecond: run.fixedRate.shippedPerSecond,
            errors: run.fixedRate.errors + (run.fixedRate.placed - run.fixedRate.shipped),
            latencyMs: run.fixedRate.latencyMs,
            cpuMsPerOrder: run.fixedRate.cpuMsPerOrder,
          },
        ]
      : []),
    {
      run,
      load: `closed ${run.workers}`,
      figures: run as PhaseFigures,
      shipped: run.shipped,
      shippedPerSecond: run.shippedPerSecond,
      errors: run.errors,
      latencyMs: run.latencyMs,
      cpuMsPerOrder: run.cpuMsPerOrder,
    },
  ]);
  const tables: Table[] = [
    {
      title: `(f) Redis Cluster, end to end: open loop at ${plan.clusterFixedRate}/s, then closed loop of ${CLUSTER_WORKERS} clients, tracing off`,
      headers: [
        "redis",
        "partitions",
        "load",
        "shipped/s",
        "errors",
        "p50 ms",
        "p99 ms",
        "CPU ms/order gw·inv·pay·ship·bench",
        "Redis µs/order",
        "Redis µs/order per shard",
        "app log errors/warnings",
      ],
      rows: phases.map((phase) => [
        name(phase.run),
        phase.run.partitions,
        phase.load,
        phase.shippedPerSecond,
        phase.errors,
        phase.latencyMs.p50,
        phase.latencyMs.p99,
        ["gateway", "inventory", "payment", "shipment", "bench"]
          .map((app) => (phase.cpuMsPerOrder[app] ?? Number.NaN).toFixed(2))
          .join(" · "),
        phase.figures.redisUsPerOrder,
        eachShard(phase.figures.perShard, (shard) => us(shard.cpuUsPerUnit)),
        phase.run.logProblems.length === 0
          ? "none"
          : phase.run.logProblems.map((p) => `${p.app} ${p.errors}/${p.warnings}`).join(", "),
      ]),
      notes: [
        "Redis µs/order: INFO cpu (used_cpu_sys + used_cpu_user) delta of every master, per order shipped; per shard: each master's, shard 0 serving the lowest slots",
        "app log errors/warnings: lines at warn or above each app logged over the whole run (both loops)",
        "one machine runs every master, process and the bench: compare CPU per order, not orders/s",
      ],
    },
    {
      title: "(f) Per-shard load, end to end: what each master serves and does",
      headers: [
        "redis",
        "partitions",
        "load",
        "shard",
        "serves",
        "CPU %",
        "CPU µs/order",
        "commands/s",
        "share of commands",
        "commands/order",
      ],
      rows: phases.flatMap((phase) =>
        phase.figures.perShard.map((shard) => [
          name(phase.run),
          phase.run.partitions,
          phase.load,
          shard.shard,
          serves(shard, phase.run.partitions),
          shard.cpuPercent,
          shard.cpuUsPerUnit,
          shard.commandsPerSecond,
          share(shard.commandShare),
          shard.commandsPerUnit,
        ]),
      ),
      notes: [
        "commands: INFO stats total_commands_processed delta (commands inside scripts included; the bench's INFO reads too)",
      ],
    },
    {
      title: `(f) Each service alone, single vs cluster: drain of ${plan.clusterDrainCount} entries spread over the partitions by order id (batch ${CLUSTER_SETTING.batchSize}, PAYMENT_LATENCY_MS=0)`,
      headers: [
        "service",
        "redis",
        "partitions",
        "concurrency",
        "events/s",
        "service CPU µs/event",
        "Redis µs/event",
        "Redis µs/event per shard",
        "share of commands per shard",
        "Redis cmds/event",
      ],
      rows: drains.map((run) => [
        run.service,
        name(run),
        run.partitions,
        run.concurrency,
        run.perSecond,
        (run.consumerCpuPercent * 10_000) / run.perSecond,
        run.perShard.reduce((sum, shard) => sum + shard.cpuUsPerUnit, 0),
        eachShard(run.perShard, (shard) => us(shard.cpuUsPerUnit)),
        eachShard(run.perShard, (shard) => share(shard.commandShare)),
        run.perShard.reduce((sum, shard) => sum + shard.commandsPerUnit, 0),
      ]),
      notes: [
        "concurrency is per partition reader: a process holds up to partitions × concurrency entries",
        "the bench's XINFO polling (one call per 5 ms) is included in the Redis figures",
      ],
    },
    {
      title:
        "(f) The {catalog} slot: its master's CPU beyond what its partitions cost on the other masters",
      headers: [
        "run",
        "redis",
        "partitions",
        "catalog shard",
        "its µs/unit",
        "others' µs/unit per partition",
        "catalog µs/unit",
        "share of Redis CPU",
      ],
      rows: [
        ...phases.map((phase) => ({
          run: `e2e ${phase.load}, per order`,
          on: phase.run,
          catalog: phase.figures.catalog,
        })),
        ...drains.map((run) => ({
          run: `${run.service} drain c${run.concurrency}, per event`,
          on: run,
          catalog: run.catalog,
        })),
      ].flatMap(({ run, on, catalog }) =>
        catalog
          ? [
              [
                run,
                name(on),
                on.partitions,
                catalog.shard,
                catalog.shardUsPerUnit,
                catalog.perPartitionUsPerUnit,
                catalog.catalogUsPerUnit,
                share(catalog.shareOfRedis),
              ],
            ]
          : [],
      ),
      notes: [
        "catalog µs/unit = its master's CPU − its partitions × the others' CPU per partition; with 1 partition that master also serves the {payments} and {shipments} ledgers",
        "payment and shipment never touch the catalog: their rows show the method's error",
      ],
    },
  ];
  if (widest && projection.length > 0) {
    tables.push({
      title: `(f) Projection from the closed loop at P=${widest.partitions}: N one-core masters, partitions spread evenly, {catalog} on one of them`,
      headers: [
        "masters",
        "catalog shard µs/order",
        "other shards µs/order",
        "Redis-bound orders/s",
        "catalog on its own master: orders/s",
        "app cores at that rate",
      ],
      rows: projection.map((row) => [
        row.masters,
        row.catalogShardUsPerOrder,
        row.otherShardUsPerOrder,
        row.redisBoundOrdersPerSecond,
        row.dedicatedCatalogOrdersPerSecond,
        row.appCoresAtBound,
      ]),
      notes: [
        "the busiest master at 100 % of one core; per-order costs measured at this run's rate (they fall as batches fill)",
        "app cores: gateway + inventory + payment + shipment CPU per order × the Redis-bound rate",
      ],
    });
  }
  return tables;
}
