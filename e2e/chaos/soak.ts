import { setTimeout as sleep } from "node:timers/promises";
import { restock, seedCatalog } from "@conveyor/catalog";
import { createKeys, type EventType, type Keys } from "@conveyor/contract";
import { Cluster, Redis } from "ioredis";
import { encodeCursor, feedStart } from "../../gateway/src/feed/cursor.ts";
import { freePort } from "../../services/testkit/src/ports.ts";
import { type RedisCluster, startRedisCluster } from "../../services/testkit/src/redis-cluster.ts";
import { type RedisServer, startRedisServer } from "../../services/testkit/src/redis-server.ts";
import type { AppName } from "../support/system.ts";
import { createAuditTail } from "./audit.ts";
import { type Check, type InjectedEntry, judge, type Verdict } from "./checks.ts";
import { createFleet, type FleetStats } from "./fleet.ts";
import { placeWithRetry, planOrders, replay, SCARCE_SKU, type SoakOrder } from "./orders.ts";
import { createRandom } from "./random.ts";
import { EVENTS_SUBSCRIPTION, ORDER_EVENTS_SUBSCRIPTION, type Watch, watch } from "./watchers.ts";

/** The knobs of a soak. Every duration is bounded, so a run always ends. */
export interface SoakOptions {
  /** Orders to place. */
  orderCount: number;
  /** Orders placed per second (a steady rate; retries come on top). */
  ratePerSecond: number;
  /** Time between two SIGKILLs of an app, drawn in [min, max]. */
  killEveryMs: readonly [number, number];
  /** How long a killed app stays down before it is started again, in [min, max]. */
  downtimeMs: readonly [number, number];
  /** Chance that a kill takes every replica of a replicated app down at once. */
  allReplicasChance: number;
  /**
   * Most replicas down at once: the next kill waits until enough are back. Starting a process
   * costs seconds of CPU, and on a small machine many restarts at once would starve the rest.
   */
  maxReplicasDown: number;
  /**
   * Kills each app must have had: if the orders are placed before, the kills go on (while the
   * last orders finish) until every app has had its share. Makes short runs deterministic.
   */
  minKillsPerApp: number;
  /** Replicas of each app (inventory and payment have two, so a live consumer sometimes remains). */
  replicas: Record<AppName, number>;
  /**
   * Run on a private Redis Cluster (three masters, each with a replica; `REDIS_CLUSTER_NODES`)
   * instead of one persistent redis-server. Its masters then fail over (`failovers`) instead of
   * Redis being killed: `redisRestarts`, `redisDowntimeMs` and `appendFsync` are a single
   * Redis's.
   */
  isCluster: boolean;
  /** Partitions of the pipeline (`STREAM_PARTITIONS`), on a single Redis or a cluster. */
  partitions: number;
  /**
   * On a cluster: manual failovers (`CLUSTER FAILOVER` on a master's replica, which loses no
   * acknowledged write) at evenly spread moments of the placement, each of another shard, those
   * serving the most partitions first.
   */
  failovers: number;
  /** On a single Redis: how many times it is killed (SIGKILL) and restarted from its AOF. */
  redisRestarts: number;
  /** How long Redis stays down, in [min, max]. */
  redisDowntimeMs: readonly [number, number];
  /** The AOF fsync policy of a single Redis (see docs/reliability.md for why `always`). */
  appendFsync: "always" | "everysec";
  /** The consumers' visibility timeout before a dead consumer's entries are claimed. */
  claimIdleMs: number;
  /** Deliveries before an entry is dead-lettered. */
  maxDeliveries: number;
  /** Malformed entries added straight to the streams. */
  malformedCount: number;
  /** One order in this many gets its own orderEvents subscription. */
  watchEveryNthOrder: number;
  /** Clients subscribed to every event. */
  eventWatchers: number;
  /** Chance that an accepted order is placed again later with the same key. */
  replayChance: number;
  /** Stock of the scarce sku at the start, and how much is added every `restockEveryMs`. */
  scarceStock: number;
  restockQuantity: number;
  restockEveryMs: number;
  /** How long the pipeline may take to finish every order once the chaos has stopped. */
  drainTimeoutMs: number;
  seed: number;
  /** Where each process's output is kept (none when undefined). */
  logDir?: string | undefined;
  log: (line: string) => void;
}

/** The soak's defaults: thousands of orders at a steady rate with kills every few seconds. */
export const SOAK_DEFAULTS: Omit<SoakOptions, "seed" | "log"> = {
  orderCount: 3_000,
  ratePerSecond: 50,
  killEveryMs: [1_500, 4_000],
  downtimeMs: [300, 4_000],
  allReplicasChance: 0.3,
  maxReplicasDown: 2,
  minKillsPerApp: 3,
  replicas: { gateway: 1, inventory: 2, payment: 2, shipment: 1 },
  isCluster: false,
  partitions: 1,
  failovers: 2,
  redisRestarts: 2,
  redisDowntimeMs: [500, 2_500],
  appendFsync: "always",
  claimIdleMs: 2_000,
  maxDeliveries: 5,
  malformedCount: 6,
  watchEveryNthOrder: 10,
  eventWatchers: 3,
  replayChance: 0.05,
  scarceStock: 5,
  restockQuantity: 4,
  restockEveryMs: 3_000,
  drainTimeoutMs: 120_000,
};

/** The figures and verdicts of a soak. */
export interface SoakResult {
  ok: boolean;
  checks: Check[];
  figures: Verdict["figures"] & {
    seed: number;
    /** `redis-server` (one, persistent) or `cluster` (three masters, each with a replica). */
    redis: "redis-server" | "cluster";
    partitions: number;
    appendFsync: string;
    ordersPlanned: number;
    ordersAccepted: number;
    ordersByKind: Record<string, number>;
    placeOrderCalls: number;
    /** Why placeOrder calls failed (and were retried), most frequent first. */
    retryReasons: Array<[reason: string, count: number]>;
    ordersRetried: number;
    maxMsToAccept: number;
    replays: number;
    kills: FleetStats["kills"];
    redisRestarts: number;
    failovers: number;
    /** Audit reads that failed and were sent again from the same positions. */
    auditRetriedReads: number;
    /** Each failover: the shard, its new master, the partitions it serves, how long it took. */
    failoverDetails: string[];
    startFailures: number;
    crashes: FleetStats["crashes"];
    injected: number;
    restocked: number;
    drainMs: number;
    isDrained: boolean;
    placementMs: number;
    durationMs: number;
  };
}

/** Sums counts by key, most frequent first. */
function tally(pairs: ReadonlyArray<[string, number]>): Array<[string, number]> {
  const totals = new Map<string, number>();
  for (const [key, count] of pairs) totals.set(key, (totals.get(key) ?? 0) + count);
  return [...totals].sort((a, b) => b[1] - a[1]);
}

/** A lock that keeps the soak's own writes to Redis and Redis's restarts or failovers apart. */
function createMutex() {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(work: () => Promise<T>): Promise<T> => {
    const run = tail.then(work, work);
    tail = run.catch(() => {});
    return run;
  };
}

/** Malformed entries: each kind of garbage a stream might receive, on a stream of its own. */
function malformedEntry(index: number): { type: EventType; fields: string[] } {
  const base = ["id", `bad-${index}`, "orderId", `malformed-${index}`, "producer", "gateway"];
  const kinds: Array<{ type: EventType; fields: string[] }> = [
    { type: "order.created", fields: [...base, "type", "order.created", "data", "{not json"] },
    { type: "inventory.reserved", fields: ["garbage", "x".repeat(64), "more", "\u0000\uffff"] },
    { type: "payment.processed", fields: [...base, "type", "payment.exploded", "data", "{}"] },
    { type: "inventory.rejected", fields: ["type", "inventory.rejected", "data", "{}"] },
    {
      type: "payment.failed",
      fields: [...base, "type", "payment.failed", "version", "1", "data", '{"reason":42}'],
    },
    {
      type: "shipment.created",
      fields: [...base, "type", "shipment.created", "data", "y".repeat(100_000)],
    },
  ];
  return kinds[index % kinds.length] as { type: EventType; fields: string[] };
}

/** The soak's Redis: one persistent redis-server, or a cluster. */
interface SoakRedis {
  server: RedisServer | undefined;
  cluster: RedisCluster | undefined;
  /** What it is, for the log. */
  description: string;
  /** The settings that point an app at it. */
  env: Record<string, string>;
  /**
   * A connection of the soak's own that waits through outages instead of failing. On a single
   * Redis a `commands` one pipelines the commands of one tick by itself; a `blocking` one is for
   * one blocking read at a time. The soak never sends a pipeline itself: on a cluster one must
   * not span slots.
   */
  connect(role: "commands" | "blocking"): Redis | Cluster;
  stop(): Promise<void>;
}

async function startSoakRedis(options: SoakOptions): Promise<SoakRedis> {
  const quiet = <T extends Redis | Cluster>(client: T): T => {
    client.on("error", () => {});
    if (client instanceof Cluster) client.on("node error", () => {});
    return client;
  };
  if (!options.isCluster) {
    const server = await startRedisServer({
      isPersistent: true,
      appendFsync: options.appendFsync,
    });
    return {
      server,
      cluster: undefined,
      description: `${server.url} (AOF, appendfsync ${options.appendFsync})`,
      env: { REDIS_URL: server.url },
      connect: (role) =>
        quiet(
          new Redis(server.url, {
            maxRetriesPerRequest: null,
            enableAutoPipelining: role === "commands",
          }),
        ),
      stop: () => server.stop(),
    };
  }
  const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  const seeds = cluster.nodes.split(",").map((node) => {
    const [host = "", port = ""] = node.split(":");
    return { host, port: Number(port) };
  });
  return {
    server: undefined,
    cluster,
    description: `cluster ${cluster.nodes} (3 masters, each with a replica)`,
    // The URL only gives credentials and TLS when REDIS_CLUSTER_NODES is set.
    env: {
      REDIS_URL: `redis://${seeds[0]?.host}:${seeds[0]?.port}`,
      REDIS_CLUSTER_NODES: cluster.nodes,
    },
    connect: () =>
      quiet(
        new Cluster(seeds, {
          redisOptions: { maxRetriesPerRequest: null },
          // Not on a cluster: after a failover, an automatic pipeline holding commands of two
          // slots of the failed-over node fails with MOVED instead of being redirected, and
          // keeps the stale route (redis/ioredis#2075). Single commands are always redirected.
          enableAutoPipelining: false,
          // Through a failover: retried until the replica has taken over and the slots moved.
          retryDelayOnClusterDown: 200,
          retryDelayOnTryAgain: 100,
          retryDelayOnFailover: 200,
          maxRedirections: 64,
          clusterRetryStrategy: () => 200,
        }),
      ),
    stop: () => cluster.stop(),
  };
}

/**
 * The partitions each shard of a cluster serves (by the slot of each partition's hash tag), as
 * `partitionsOfShard[shard]`; shards are in the fixture's order (shard 0 has the lowest slots).
 */
async function partitionsOfShards(
  redis: Cluster,
  cluster: RedisCluster,
  keys: Keys,
): Promise<number[][]> {
  const ranges = await redis.cluster("SLOTS");
  const shards = cluster.masters.map((): number[] => []);
  for (const partition of keys.partitions) {
    const slot = Number(await redis.cluster("KEYSLOT", partition.feed));
    const range = ranges.find(([from, to]) => slot >= from && slot <= to);
    const shard = cluster.masters.findIndex((master) => master.port === Number(range?.[2]?.[1]));
    shards[shard]?.push(partition.index);
  }
  return shards;
}

/**
 * Runs the chaos soak: Conveyor on its own persistent Redis (or a Redis Cluster), orders at a
 * steady rate, clients subscribed throughout, while apps are SIGKILLed and restarted at random
 * and Redis itself is killed and restarted from its AOF (or the cluster's masters fail over);
 * then the pipeline drains and the checks judge the result.
 */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const { log } = options;
  const random = createRandom(options.seed);
  const startedAt = Date.now();
  const soakRedis = await startSoakRedis(options);
  const { server: redisServer, cluster } = soakRedis;
  const keys = createKeys("chaos:", options.partitions);
  const redis = soakRedis.connect("commands");
  const exclusive = createMutex();
  const gatewayPort = await freePort();
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  log(
    `redis ${soakRedis.description}, ${options.partitions} partition${options.partitions === 1 ? "" : "s"}; gateway ${gatewayUrl}`,
  );

  // The catalog as the soak wants it before any app seeds it (seeding never overwrites stock).
  await seedCatalog(redis, keys, { initialStock: 1_000_000 });
  await redis.hset(keys.stock, SCARCE_SKU, options.scarceStock);
  const initialStock = Object.fromEntries(
    Object.entries(await redis.hgetall(keys.stock)).map(([sku, stock]) => [sku, Number(stock)]),
  );
  const restocked: Record<string, number> = {};

  const fleet = createFleet({
    replicas: options.replicas,
    gatewayPort,
    logDir: options.logDir,
    log,
    env: {
      NODE_ENV: "test",
      // Loopback only: the gateway and the health servers listen on every interface by default.
      HOST: "127.0.0.1",
      HEALTH_HOST: "127.0.0.1",
      ...soakRedis.env,
      STREAM_PREFIX: keys.prefix,
      STREAM_PARTITIONS: String(options.partitions),
      LOG_LEVEL: "warn",
      OTEL_SDK_DISABLED: "true",
      BLOCK_MS: "1000",
      CLAIM_IDLE_MS: String(options.claimIdleMs),
      CLAIM_INTERVAL_MS: "500",
      MAX_DELIVERIES: String(options.maxDeliveries),
      TRIM_INTERVAL_MS: "1000",
      STOP_TIMEOUT_MS: "5000",
    },
  });
  const audit = createAuditTail(() => soakRedis.connect("blocking"), redis, keys);
  const eventWatches: Watch[] = [];
  const orderWatches = new Map<string, Watch>();
  const injected: InjectedEntry[] = [];
  const orders = planOrders(options.orderCount, random, `chaos-${options.seed}`);
  let redisRestarts = 0;
  let failovers = 0;
  const failoverDetails: string[] = [];
  const redisOutages: Array<[number, number]> = [];
  let placementMs = 0;
  let drainMs = 0;
  let isDrained = false;

  let verdict: Verdict;
  try {
    await audit.start();
    const shardPartitions =
      cluster && redis instanceof Cluster ? await partitionsOfShards(redis, cluster, keys) : [];
    if (cluster) {
      log(
        `partitions by shard: ${shardPartitions.map((partitions, shard) => `${shard}: ${partitions.join(" ") || "-"}`).join("; ")}`,
      );
    }
    await fleet.startAll();
    log(`started ${fleet.replicas.map((replica) => replica.id).join(", ")}`);
    const streamUrl = `${gatewayUrl}/graphql/stream`;
    for (let i = 0; i < options.eventWatchers; i += 1) {
      eventWatches.push(
        watch({
          url: streamUrl,
          query: EVENTS_SUBSCRIPTION,
          // From the feed's start, so nothing depends on when the subscription is established.
          after: encodeCursor(feedStart(options.partitions)),
          singleConnection: i % 2 === 1,
          partitionCount: options.partitions,
        }),
      );
    }

    const placementPlannedMs = (options.orderCount / options.ratePerSecond) * 1000;
    const startedPlacingAt = Date.now();
    let isPlacing = true;
    let placementEndedAt = Number.POSITIVE_INFINITY;
    const background: Promise<unknown>[] = [];

    // Kills: the app killed least so far, one replica or (sometimes) all of them.
    const monkey = (async () => {
      const apps = Object.keys(options.replicas) as AppName[];
      // After the placement, kills go on only to give every app its share, for a minute at most.
      const isDue = () =>
        isPlacing ||
        (Date.now() - placementEndedAt < 60_000 &&
          apps.some((app) => fleet.stats.kills[app] < options.minKillsPerApp));
      while (isDue()) {
        await sleep(random.between(...options.killEveryMs));
        while (
          isDue() &&
          fleet.replicas.filter((replica) => !replica.isUp).length >= options.maxReplicasDown
        ) {
          await sleep(100);
        }
        if (!isDue()) break;
        const candidates = apps
          .map((app) => ({ app, up: fleet.replicas.filter((r) => r.app === app && r.isUp) }))
          .filter((candidate) => candidate.up.length > 0)
          .sort(
            (a, b) => fleet.stats.kills[a.app] - fleet.stats.kills[b.app] || random.next() - 0.5,
          );
        const target = candidates[0];
        if (!target) continue;
        const down = fleet.replicas.filter((replica) => !replica.isUp).length;
        const victims =
          target.up.length > 1 &&
          down + target.up.length <= options.maxReplicasDown &&
          random.chance(options.allReplicasChance)
            ? target.up
            : [random.pick(target.up)];
        const downtime = random.between(...options.downtimeMs);
        await Promise.all(victims.map((victim) => fleet.kill(victim)));
        log(`kill -9 ${victims.map((victim) => victim.id).join(" + ")}, back in ${downtime} ms`);
        background.push(
          (async () => {
            await sleep(downtime);
            await Promise.all(victims.map((victim) => fleet.start(victim)));
          })(),
        );
      }
    })();

    // Redis: killed at evenly spread moments of the placement, restarted from its AOF.
    const redisKiller = (async () => {
      if (!redisServer) return;
      for (let k = 1; k <= options.redisRestarts; k += 1) {
        const at = startedPlacingAt + (placementPlannedMs * k) / (options.redisRestarts + 1);
        await sleep(Math.max(0, at - Date.now()));
        await exclusive(async () => {
          const downtime = random.between(...options.redisDowntimeMs);
          const outage: [number, number] = [Date.now(), Number.POSITIVE_INFINITY];
          redisOutages.push(outage);
          await redisServer.kill();
          log(`kill -9 redis-server, back in ${downtime} ms`);
          await sleep(downtime);
          await redisServer.start();
          // Clients reconnect within a few seconds; errors until then are part of the outage.
          outage[1] = Date.now() + 5_000;
          redisRestarts += 1;
          log("redis-server restarted from its AOF");
        });
      }
    })();

    // A cluster: a manual failover at evenly spread moments of the placement, each of another
    // shard (the busiest first), while the fleet goes on.
    const failoverer = (async () => {
      if (!cluster) return;
      const shardOrder = shardPartitions
        .map((partitions, shard) => ({ shard, count: partitions.length }))
        .sort((a, b) => b.count - a.count || a.shard - b.shard)
        .map(({ shard }) => shard);
      for (let k = 1; k <= options.failovers; k += 1) {
        const at = startedPlacingAt + (placementPlannedMs * k) / (options.failovers + 1);
        await sleep(Math.max(0, at - Date.now()));
        await exclusive(async () => {
          const shard = shardOrder[(k - 1) % shardOrder.length] as number;
          const from = cluster.masters[shard]?.port;
          const outage: [number, number] = [Date.now(), Number.POSITIVE_INFINITY];
          redisOutages.push(outage);
          log(`CLUSTER FAILOVER of shard ${shard} (master ${from})`);
          await cluster.failover(shard);
          const tookMs = Date.now() - outage[0];
          // Clients find the new master on their next command (MOVED); errors until a few
          // seconds after are part of the failover.
          outage[1] = Date.now() + 5_000;
          failovers += 1;
          const detail = `shard ${shard} (partitions ${shardPartitions[shard]?.join(" ") || "none"}): ${from} → ${cluster.masters[shard]?.port} in ${tookMs} ms`;
          failoverDetails.push(detail);
          log(`failed over ${detail}`);
        });
      }
    })();

    // The soak's own writes, kept apart from Redis restarts so their outcome is known.
    const restocker = (async () => {
      while (isPlacing) {
        await sleep(options.restockEveryMs);
        if (!isPlacing) break;
        await exclusive(async () => {
          await restock(redis, keys, SCARCE_SKU, options.restockQuantity);
          restocked[SCARCE_SKU] = (restocked[SCARCE_SKU] ?? 0) + options.restockQuantity;
        });
      }
    })();
    const injector = (async () => {
      for (let i = 0; i < options.malformedCount; i += 1) {
        await sleep(
          ((placementPlannedMs / (options.malformedCount + 1)) * random.between(50, 150)) / 100,
        );
        const { type, fields } = malformedEntry(i);
        await exclusive(async () => {
          const partition = keys.partition(i % keys.partitions.length);
          const entryId = (await redis.xadd(partition.stream(type), "*", ...fields)) as string;
          injected.push({ type, partition: partition.index, entryId });
        });
      }
    })();

    // Placement at a steady rate; each order retried with its key until accepted.
    const placementDeadline = startedPlacingAt + placementPlannedMs + 120_000;
    await Promise.all(
      orders.map(async (order: SoakOrder, index) => {
        await sleep(
          Math.max(0, startedPlacingAt + (index * 1000) / options.ratePerSecond - Date.now()),
        );
        await placeWithRetry(`${gatewayUrl}/graphql`, order, placementDeadline);
        const orderId = order.orderId;
        if (!orderId) return;
        if (index % options.watchEveryNthOrder === 0) {
          orderWatches.set(
            orderId,
            watch({
              url: streamUrl,
              query: ORDER_EVENTS_SUBSCRIPTION,
              variables: { orderId },
              singleConnection: index % (2 * options.watchEveryNthOrder) === 0,
              partitionCount: options.partitions,
            }),
          );
        }
        if (random.chance(options.replayChance)) {
          background.push(
            sleep(random.between(0, 3_000)).then(() =>
              replay(`${gatewayUrl}/graphql`, order, placementDeadline),
            ),
          );
        }
      }),
    );
    placementMs = Date.now() - startedPlacingAt;
    isPlacing = false;
    placementEndedAt = Date.now();
    log(
      `placed ${orders.filter((order) => order.orderId).length}/${orders.length} orders in ${placementMs} ms; stopping the chaos`,
    );
    await Promise.all([monkey, redisKiller, failoverer, restocker, injector]);
    await Promise.allSettled(background);
    await fleet.startAllDown();

    // Drain: every order terminal, every watcher caught up, the audit caught up.
    const drainStartedAt = Date.now();
    const acceptedIds = orders.flatMap((order) => (order.orderId ? [order.orderId] : []));
    const terminal = new Set(["SHIPPED", "REJECTED", "CANCELLED"]);
    while (Date.now() - drainStartedAt < options.drainTimeoutMs) {
      const statuses = await Promise.all(
        acceptedIds.map((id) => redis.hget(keys.order(id), "status")),
      );
      const unfinished = statuses.filter((status) => !terminal.has(String(status))).length;
      // Every events watcher at the end of every partition's feed.
      const feedEnds = await Promise.all(
        keys.partitions.map(async (partition) => {
          const [last] = await redis.xrevrange(partition.feed, "+", "-", "COUNT", 1);
          return last?.[0] ?? "0-0";
        }),
      );
      const laggingWatchers = eventWatches.filter((w) =>
        feedEnds.some((end, index) => w.lastPosition?.[index] !== end),
      ).length;
      const lengths = await Promise.all(
        [...orderWatches.keys()].map((id) => redis.llen(keys.orderEvents(id))),
      );
      const laggingOrderWatchers = [...orderWatches.values()].filter(
        (w, index) => w.events.length < (lengths[index] ?? 0),
      ).length;
      if (
        unfinished === 0 &&
        laggingWatchers === 0 &&
        laggingOrderWatchers === 0 &&
        (await audit.isCaughtUp())
      ) {
        isDrained = true;
        break;
      }
      await sleep(500);
    }
    drainMs = Date.now() - drainStartedAt;
    log(`${isDrained ? "drained" : "NOT drained"} after ${drainMs} ms`);
    // A last moment for anything late (a duplicate would arrive now) before the verdict.
    await sleep(1_000);
    for (const w of [...eventWatches, ...orderWatches.values()]) w.stop();
    await audit.stop();
    verdict = await judge(redis, keys, {
      orders,
      audit: audit.entries,
      eventWatches,
      orderWatches,
      injected,
      initialStock,
      restocked,
      crashes: fleet.stats.crashes.length,
      redisOutages,
    });
  } finally {
    for (const w of [...eventWatches, ...orderWatches.values()]) w.stop();
    await audit.stop();
    await fleet.stopAll();
    redis.disconnect();
    await soakRedis.stop();
  }
  const drained: Check = {
    name: "the pipeline drained within the drain time once the chaos stopped",
    ok: isDrained,
    detail: `${drainMs} ms (limit ${options.drainTimeoutMs} ms)`,
  };
  const checks = [drained, ...verdict.checks];

  const accepted = orders.filter((order) => order.orderId);
  const ordersByKind: Record<string, number> = {};
  for (const order of orders) ordersByKind[order.kind] = (ordersByKind[order.kind] ?? 0) + 1;
  return {
    ok: checks.every((c) => c.ok),
    checks,
    figures: {
      ...verdict.figures,
      seed: options.seed,
      redis: cluster ? "cluster" : "redis-server",
      partitions: options.partitions,
      appendFsync: options.appendFsync,
      ordersPlanned: orders.length,
      ordersAccepted: accepted.length,
      ordersByKind,
      placeOrderCalls: orders.reduce((sum, order) => sum + order.attempts, 0),
      retryReasons: tally(orders.flatMap((order) => [...order.retryReasons])),
      ordersRetried: orders.filter((order) => order.attempts > 1).length,
      maxMsToAccept: Math.max(
        0,
        ...accepted.map((order) => (order.acceptedAt ?? 0) - (order.firstAttemptAt ?? 0)),
      ),
      replays: accepted.filter((order) => order.replayedOrderId !== undefined).length,
      kills: fleet.stats.kills,
      redisRestarts,
      failovers,
      auditRetriedReads: audit.retriedReads,
      failoverDetails,
      startFailures: fleet.stats.startFailures,
      crashes: fleet.stats.crashes,
      injected: injected.length,
      restocked: restocked[SCARCE_SKU] ?? 0,
      drainMs,
      isDrained,
      placementMs,
      durationMs: Date.now() - startedAt,
    },
  };
}
