import { createKeys } from "@conveyor/contract";
import { Cluster, Redis } from "ioredis";
import type { ServiceProcess } from "../../services/testkit/src/process.ts";
import { type RedisCluster, startRedisCluster } from "../../services/testkit/src/redis-cluster.ts";
import {
  type ClosedLoopResult,
  type OpenLoopResult,
  runClosedLoop,
  runOpenLoop,
  settle,
  startBenchSystem,
  trackShipments,
  warmUp,
} from "./end-to-end.ts";
import type { ServiceName } from "./fixtures.ts";
import { createGatewayClient } from "./gateway-client.ts";
import {
  type CpuSnapshot,
  processCpuSeconds,
  type RedisDelta,
  type RedisSample,
  redisDelta,
  sampleRedis,
} from "./measure.ts";
import {
  type ConsumerSetting,
  type DrainTarget,
  measureServiceDrain,
  type ServiceDrainResult,
  type StreamBenchContext,
} from "./services.ts";

/** The hash tag of the catalog: products, stock and reservations, one slot (see `createKeys`). */
export const CATALOG_TAG = "{catalog}";

/** The bench's Redis Cluster: the testkit's, a cluster client and a direct connection per master. */
export interface BenchCluster {
  readonly cluster: RedisCluster;
  readonly client: Cluster;
  /** Each master, for its `INFO` counters and `FLUSHALL`; shard 0 serves the lowest slots. */
  readonly masters: readonly Redis[];
  stop(): Promise<void>;
}

/**
 * Starts a private Redis Cluster of `masterCount` masters and no replicas, AOF on (as the bench's
 * single Redis), with Redis's latency monitor at 50 ms on every master.
 */
export async function startBenchCluster(masterCount = 3): Promise<BenchCluster> {
  const cluster = await startRedisCluster({ masters: masterCount, isPersistent: true });
  const client = new Cluster(
    cluster.nodes.split(",").map((node) => {
      const [host = "", port = ""] = node.split(":");
      return { host, port: Number(port) };
    }),
  );
  const masters = cluster.masters.map((server) => new Redis(server.url));
  await Promise.all(
    masters.map((master) => master.config("SET", "latency-monitor-threshold", "50")),
  );
  return {
    cluster,
    client,
    masters,
    async stop() {
      client.disconnect();
      for (const master of masters) master.disconnect();
      await cluster.stop();
    },
  };
}

/** One place a run can happen: the single Redis, or the cluster with some partitions. */
export interface Topology {
  readonly kind: "single" | "cluster";
  readonly partitions: number;
  /** What the processes get as `REDIS_URL` (with a cluster: only credentials, none here). */
  readonly redisUrl: string;
  /** `REDIS_CLUSTER_NODES`, with a cluster. */
  readonly clusterNodes?: string | undefined;
  /** The bench's client. */
  readonly client: Redis | Cluster;
  /** Every master (the single Redis alone), each a direct connection. */
  readonly masters: readonly Redis[];
  /** What each master serves, in the order of `masters`. */
  readonly layout: readonly ShardLayout[];
  /** The drains' view of it. */
  readonly drainTarget: DrainTarget;
}

/** What one master serves of the key layout. */
export interface ShardLayout {
  shard: number;
  port: number;
  /** The hash tags whose slot it serves: `{catalog}`, `{orders:3}`, … */
  tags: string[];
  /** How many of the pipeline's partitions it serves. */
  partitions: number;
  hasCatalog: boolean;
}

/** The hash tags of a layout of `partitions` partitions (the ledgers' own with one). */
function tagsOf(partitions: number): string[] {
  const keys = createKeys("bench:", partitions);
  const tags = [CATALOG_TAG, ...keys.partitions.map((partition) => partition.tag)];
  // With one partition the payment and shipment ledgers keep their slots of old.
  if (partitions === 1) tags.push("{payments}", "{shipments}");
  return tags;
}

/** The single Redis as a topology: everything on its one shard. */
export function singleTopology(redis: Redis, redisUrl: string): Topology {
  const port = Number(new URL(redisUrl).port);
  return {
    kind: "single",
    partitions: 1,
    redisUrl,
    client: redis,
    masters: [redis],
    layout: [{ shard: 0, port, tags: tagsOf(1), partitions: 1, hasCatalog: true }],
    drainTarget: {},
  };
}

/** The cluster with `partitions` partitions, and which master serves which tag (`CLUSTER SLOTS`). */
export async function clusterTopology(bench: BenchCluster, partitions: number): Promise<Topology> {
  const [seed] = bench.masters;
  if (!seed) throw new Error("the cluster has no master");
  const ranges = (await seed.call("CLUSTER", "SLOTS")) as Array<[number, number, [string, number]]>;
  const ports = bench.cluster.masters.map((server) => server.port);
  const layout: ShardLayout[] = ports.map((port, shard) => ({
    shard,
    port,
    tags: [],
    partitions: 0,
    hasCatalog: false,
  }));
  for (const tag of tagsOf(partitions)) {
    const slot = Number(await seed.call("CLUSTER", "KEYSLOT", tag));
    const range = ranges.find(([from, to]) => slot >= from && slot <= to);
    const shard = layout.find((entry) => entry.port === Number(range?.[2][1]));
    if (!shard) throw new Error(`no master serves slot ${slot} of ${tag}`);
    shard.tags.push(tag);
    if (tag === CATALOG_TAG) shard.hasCatalog = true;
    else if (tag.startsWith("{orders")) shard.partitions += 1;
  }
  const nodes = bench.cluster.nodes;
  return {
    kind: "cluster",
    partitions,
    redisUrl: `redis://${nodes.split(",")[0]}`,
    clusterNodes: nodes,
    client: bench.client,
    masters: bench.masters,
    layout,
    drainTarget: {
      cluster: { nodes, client: bench.client, masters: bench.masters },
      partitions,
    },
  };
}

/** A topology's name in tables: `single`, `cluster ×3`. */
export function topologyName(topology: Pick<Topology, "kind" | "masters">): string {
  return topology.kind === "single" ? "single" : `cluster ×${topology.masters.length}`;
}

/** What a master served in a run, and what it cost, per order (end to end) or per event (drain). */
export interface ShardFigures extends ShardLayout {
  /** Share of one core, in percent. */
  cpuPercent: number;
  /** CPU µs (INFO cpu: used_cpu_sys + used_cpu_user) per order or event. */
  cpuUsPerUnit: number;
  /** `total_commands_processed` per second. */
  commandsPerSecond: number;
  /** Its share of every master's commands together. */
  commandShare: number;
  commandsPerUnit: number;
}

/** Each master's figures from its counters over a run of `units` orders or events. */
export function shardFigures(
  layout: readonly ShardLayout[],
  deltas: readonly RedisDelta[],
  seconds: number,
  units: number,
): ShardFigures[] {
  const totalCommands = deltas.reduce((sum, delta) => sum + delta.commandsProcessedPerSecond, 0);
  return layout.map((shard, i) => {
    const delta = deltas[i] as RedisDelta;
    return {
      ...shard,
      cpuPercent: delta.cpuPercent,
      cpuUsPerUnit: (delta.cpuPercent * 10_000 * seconds) / units,
      commandsPerSecond: delta.commandsProcessedPerSecond,
      commandShare: totalCommands > 0 ? delta.commandsProcessedPerSecond / totalCommands : 0,
      commandsPerUnit: (delta.commandsProcessedPerSecond * seconds) / units,
    };
  });
}

/**
 * What the `{catalog}` slot costs, from one cluster run: the CPU of the master serving it beyond
 * what its partitions cost, reckoned from the other masters' CPU per partition they serve. With
 * one partition, the catalog's master also serves the ledgers (`{payments}`, `{shipments}`).
 */
export interface CatalogCost {
  shard: number;
  /** The catalog master's CPU per unit, all of it. */
  shardUsPerUnit: number;
  /** The other masters' CPU per unit and partition served (the baseline of a partition). */
  perPartitionUsPerUnit: number;
  /** What the catalog master spent beyond its partitions: the catalog slot's cost per unit. */
  catalogUsPerUnit: number;
  /** That, as a share of every master's CPU per unit together. */
  shareOfRedis: number;
}

/** The `{catalog}` slot's cost in one run, when other masters serve partitions to compare with. */
export function catalogCost(shards: readonly ShardFigures[]): CatalogCost | undefined {
  const catalog = shards.find((shard) => shard.hasCatalog);
  const others = shards.filter((shard) => !shard.hasCatalog && shard.partitions > 0);
  if (!catalog || others.length === 0) return undefined;
  const othersPartitions = others.reduce((sum, shard) => sum + shard.partitions, 0);
  const perPartition =
    others.reduce((sum, shard) => sum + shard.cpuUsPerUnit, 0) / othersPartitions;
  const catalogUs = catalog.cpuUsPerUnit - catalog.partitions * perPartition;
  const total = shards.reduce((sum, shard) => sum + shard.cpuUsPerUnit, 0);
  return {
    shard: catalog.shard,
    shardUsPerUnit: catalog.cpuUsPerUnit,
    perPartitionUsPerUnit: perPartition,
    catalogUsPerUnit: catalogUs,
    shareOfRedis: total > 0 ? catalogUs / total : Number.NaN,
  };
}

/** Warnings and errors an app logged during a run (its log level is `warn`). */
export interface LogProblems {
  app: string;
  warnings: number;
  errors: number;
  /** The first few messages, for the report. */
  first: string[];
}

/** Warnings every bench run has, unrelated to Redis: the gateway serves no dashboard here. */
const EXPECTED_WARNINGS = [/^no built dashboard/];

/**
 * Counts the warn and error lines (pino levels 40 and up, or anything not JSON) of each app,
 * but for {@link EXPECTED_WARNINGS}.
 */
export function logProblems(processes: ReadonlyMap<string, ServiceProcess>): LogProblems[] {
  const found: LogProblems[] = [];
  for (const [app, child] of processes) {
    const problems: LogProblems = { app, warnings: 0, errors: 0, first: [] };
    for (const line of child.output.join("").split("\n")) {
      if (line.trim() === "") continue;
      let level = 50;
      let message = line;
      try {
        const parsed = JSON.parse(line) as {
          level?: number;
          msg?: string;
          err?: { message?: string };
        };
        level = parsed.level ?? 50;
        message = [parsed.msg, parsed.err?.message].filter(Boolean).join(": ");
      } catch {}
      if (level < 40 || EXPECTED_WARNINGS.some((pattern) => pattern.test(message))) continue;
      if (level >= 50) problems.errors += 1;
      else problems.warnings += 1;
      if (problems.first.length < 3) problems.first.push(message.slice(0, 300));
    }
    if (problems.warnings + problems.errors > 0) found.push(problems);
  }
  return found;
}

/** Every master's figures over one load phase, per order shipped. */
export interface PhaseFigures {
  /** Every master's CPU µs per order together. */
  redisUsPerOrder: number;
  /** Each master's figures, per order (closed loop) or per event (drain). */
  perShard: ShardFigures[];
  catalog: CatalogCost | undefined;
}

/** The closed loop on one topology, and before it the open loop at a fixed rate, if asked. */
export interface TopologyLoopResult extends ClosedLoopResult, PhaseFigures {
  redisKind: Topology["kind"];
  partitions: number;
  masters: number;
  /** The open loop at `LoopOptions.fixedRate`: CPU per order at the same rate on every topology. */
  fixedRate: (OpenLoopResult & PhaseFigures) | undefined;
  logProblems: LogProblems[];
}

/** Options of {@link measureSystemOn}. */
export interface LoopOptions {
  workers: number;
  seconds: number;
  /** Orders/s of an open loop run first (same duration), or none. */
  fixedRate?: number | undefined;
  profileDir?: string | undefined;
}

/**
 * The whole system on one topology (a fresh prefix, every master flushed first), warmed up; an
 * open loop at a fixed rate, if asked, then the e2e section's closed loop: CPU per order of every
 * process, and each master's counters over each.
 */
export async function measureSystemOn(
  topology: Topology,
  options: LoopOptions,
): Promise<TopologyLoopResult> {
  await Promise.all(topology.masters.map((master) => master.flushall()));
  const label = `${topology.kind}-p${topology.partitions}`;
  const system = await startBenchSystem(
    {
      redisUrl: topology.redisUrl,
      clusterNodes: topology.clusterNodes,
      partitions: topology.partitions,
      prefix: `bench:cluster:${label}:`,
      profileDir: options.profileDir ? `${options.profileDir}/cluster-${label}` : undefined,
    },
    { gateway: { PLACE_ORDER_RATE_LIMIT: "0" } },
    `-${label}`,
  );
  const client = createGatewayClient(system.gatewayUrl, 128);
  const tracker = trackShipments(system.gatewayUrl);
  const pids = [...system.processes].map(([app, child]) => [app, child.pid] as const);
  let samples: RedisSample[][] = [];
  // A loop reads the probe right before and right after it runs: the masters' counters are read
  // with it, over the same interval.
  const probe = async (): Promise<CpuSnapshot> => {
    const [snapshot, shards] = await Promise.all([
      processesCpu(pids),
      Promise.all(topology.masters.map(sampleRedis)),
    ]);
    samples.push(shards);
    return snapshot;
  };
  const figuresOf = (shipped: number): PhaseFigures => {
    const [before, after] = samples;
    samples = [];
    if (!before || !after) throw new Error("a loop did not read its probe twice");
    const deltas = before.map((sample, i) => redisDelta(sample, after[i] as RedisSample));
    const seconds = ((after[0]?.atMs ?? 0) - (before[0]?.atMs ?? 0)) / 1000;
    const perShard = shardFigures(topology.layout, deltas, seconds, shipped);
    return {
      redisUsPerOrder: perShard.reduce((sum, shard) => sum + shard.cpuUsPerUnit, 0),
      perShard,
      catalog: topology.kind === "cluster" ? catalogCost(perShard) : undefined,
    };
  };
  try {
    await warmUp(client, tracker);
    let fixedRate: TopologyLoopResult["fixedRate"];
    if (options.fixedRate) {
      await settle(tracker);
      const open = await runOpenLoop(client, tracker, options.fixedRate, options.seconds, probe);
      fixedRate = { ...open, ...figuresOf(open.shipped) };
    }
    await settle(tracker, 500, 60_000);
    const loop = await runClosedLoop(client, tracker, options.workers, options.seconds, probe);
    return {
      ...loop,
      ...figuresOf(loop.shipped),
      redisKind: topology.kind,
      partitions: topology.partitions,
      masters: topology.masters.length,
      fixedRate,
      logProblems: logProblems(system.processes),
    };
  } finally {
    tracker.close();
    client.close();
    await system.stop();
  }
}

/** CPU seconds so far of each app process and of the bench itself. */
async function processesCpu(
  pids: ReadonlyArray<readonly [string, number | undefined]>,
): Promise<CpuSnapshot> {
  const snapshot: CpuSnapshot = {};
  for (const [name, pid] of pids) {
    if (pid !== undefined) snapshot[name] = await processCpuSeconds(pid).catch(() => Number.NaN);
  }
  const own = process.cpuUsage();
  snapshot.bench = (own.user + own.system) / 1e6;
  return snapshot;
}

/** One service's drain on one topology, with each master's figures per event. */
export interface TopologyDrainResult
  extends ServiceDrainResult,
    Omit<PhaseFigures, "redisUsPerOrder"> {
  redisKind: Topology["kind"];
  partitions: number;
  masters: number;
}

/** Each service alone (see `measureServiceDrain`) on one topology, at each setting. */
export async function measureDrainsOn(
  context: StreamBenchContext,
  topology: Topology,
  services: readonly ServiceName[],
  count: number,
  settings: readonly ConsumerSetting[],
): Promise<TopologyDrainResult[]> {
  const results: TopologyDrainResult[] = [];
  for (const service of services) {
    for (const setting of settings) {
      const result = await measureServiceDrain(
        context,
        service,
        count,
        setting,
        0,
        topology.drainTarget,
      );
      if (result.outputs !== result.count || result.deadLetters > 0) {
        throw new Error(
          `${service} on ${topology.kind} P=${topology.partitions} published ${result.outputs} of ${result.count} outputs, ${result.deadLetters} dead letters`,
        );
      }
      const shards = shardFigures(
        topology.layout,
        result.shards ?? [result.redis],
        result.seconds,
        result.count,
      );
      results.push({
        ...result,
        redisKind: topology.kind,
        partitions: topology.partitions,
        masters: topology.masters.length,
        perShard: shards,
        catalog: topology.kind === "cluster" ? catalogCost(shards) : undefined,
      });
    }
  }
  return results;
}

/** What N masters would carry, projected from one run's per-order costs. */
export interface CapacityProjection {
  masters: number;
  /** The catalog master's CPU per order: the catalog slot plus its 1/N of the partitions. */
  catalogShardUsPerOrder: number;
  /** Every other master's: 1/N of the partitions. */
  otherShardUsPerOrder: number;
  /** Orders/s at which the busiest master is at one full core. */
  redisBoundOrdersPerSecond: number;
  /** The same with the catalog alone on a master of its own, the partitions on the N − 1 others. */
  dedicatedCatalogOrdersPerSecond: number;
  /** Cores the app processes (gateway and services) need at `redisBoundOrdersPerSecond`. */
  appCoresAtBound: number;
}

/**
 * Projects, from one run's per-order costs, what N one-core masters would carry when the
 * partitions spread evenly over them (P ≫ N): the `{catalog}` slot stays on one master, so that
 * master carries `catalog + rest/N` per order and the others `rest/N`.
 */
export function projectCapacity(
  run: TopologyLoopResult,
  catalogUsPerOrder: number,
  masterCounts: readonly number[],
): CapacityProjection[] {
  const rest = run.redisUsPerOrder - catalogUsPerOrder;
  const appMsPerOrder = ["gateway", "inventory", "payment", "shipment"].reduce(
    (sum, app) => sum + (run.cpuMsPerOrder[app] ?? 0),
    0,
  );
  return masterCounts.map((masters) => {
    const catalogShard = catalogUsPerOrder + rest / masters;
    const bound = 1e6 / catalogShard;
    return {
      masters,
      catalogShardUsPerOrder: catalogShard,
      otherShardUsPerOrder: rest / masters,
      redisBoundOrdersPerSecond: bound,
      dedicatedCatalogOrdersPerSecond:
        masters < 2 ? Number.NaN : Math.min(1e6 / catalogUsPerOrder, ((masters - 1) * 1e6) / rest),
      appCoresAtBound: (bound * appMsPerOrder) / 1000,
    };
  });
}
