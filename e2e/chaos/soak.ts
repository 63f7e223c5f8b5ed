import { setTimeout as sleep } from "node:timers/promises";
import { restock, seedCatalog } from "@conveyor/catalog";
import { createKeys, type EventType } from "@conveyor/contract";
import { Redis } from "ioredis";
import { freePort } from "../../services/testkit/src/ports.ts";
import { startRedisServer } from "../../services/testkit/src/redis-server.ts";
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
  /** How many times Redis itself is killed (SIGKILL) and restarted from its AOF. */
  redisRestarts: number;
  /** How long Redis stays down, in [min, max]. */
  redisDowntimeMs: readonly [number, number];
  /** The AOF fsync policy (see docs/reliability.md for why the soak uses `always`). */
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

/** A lock that keeps the soak's own writes to Redis and Redis's restarts apart. */
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

/**
 * Runs the chaos soak: Conveyor on its own persistent Redis, orders at a steady rate, clients
 * subscribed throughout, while apps are SIGKILLed and restarted at random and Redis itself is
 * killed and restarted from its AOF; then the pipeline drains and the checks judge the result.
 */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const { log } = options;
  const random = createRandom(options.seed);
  const startedAt = Date.now();
  const redisServer = await startRedisServer({
    isPersistent: true,
    appendFsync: options.appendFsync,
  });
  const keys = createKeys("chaos:");
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  redis.on("error", () => {});
  const auditConnection = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  auditConnection.on("error", () => {});
  const exclusive = createMutex();
  const gatewayPort = await freePort();
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  log(`redis ${redisServer.url} (AOF, appendfsync ${options.appendFsync}); gateway ${gatewayUrl}`);

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
      REDIS_URL: redisServer.url,
      STREAM_PREFIX: keys.prefix,
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
  const audit = createAuditTail(auditConnection, redis, keys);
  const eventWatches: Watch[] = [];
  const orderWatches = new Map<string, Watch>();
  const injected: InjectedEntry[] = [];
  const orders = planOrders(options.orderCount, random, `chaos-${options.seed}`);
  let redisRestarts = 0;
  const redisOutages: Array<[number, number]> = [];
  let placementMs = 0;
  let drainMs = 0;
  let isDrained = false;

  let verdict: Verdict;
  try {
    await audit.start();
    await fleet.startAll();
    log(`started ${fleet.replicas.map((replica) => replica.id).join(", ")}`);
    const streamUrl = `${gatewayUrl}/graphql/stream`;
    for (let i = 0; i < options.eventWatchers; i += 1) {
      eventWatches.push(
        watch({
          url: streamUrl,
          query: EVENTS_SUBSCRIPTION,
          // From the feed's start, so nothing depends on when the subscription is established.
          after: "0-0",
          singleConnection: i % 2 === 1,
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
          const entryId = (await redis.xadd(
            keys.partition(0).stream(type),
            "*",
            ...fields,
          )) as string;
          injected.push({ type, entryId });
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
    await Promise.all([monkey, redisKiller, restocker, injector]);
    await Promise.allSettled(background);
    await fleet.startAllDown();

    // Drain: every order terminal, every watcher caught up, the audit caught up.
    const drainStartedAt = Date.now();
    const acceptedIds = orders.flatMap((order) => (order.orderId ? [order.orderId] : []));
    const terminal = new Set(["SHIPPED", "REJECTED", "CANCELLED"]);
    while (Date.now() - drainStartedAt < options.drainTimeoutMs) {
      const statuses = redis.pipeline();
      for (const id of acceptedIds) statuses.hget(keys.order(id), "status");
      const replies = (await statuses.exec()) ?? [];
      const unfinished = replies.filter(([, status]) => !terminal.has(String(status))).length;
      const [lastFeed] = await redis.xrevrange(keys.partition(0).feed, "+", "-", "COUNT", 1);
      const laggingWatchers = eventWatches.filter((w) => w.lastCursor !== lastFeed?.[0]).length;
      const histories = redis.pipeline();
      for (const id of orderWatches.keys()) histories.llen(keys.orderEvents(id));
      const lengths = ((await histories.exec()) ?? []).map(([, length]) => Number(length));
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
    await redisServer.stop();
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
