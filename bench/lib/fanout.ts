import { readFile } from "node:fs/promises";
import { Agent } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import type { GatewayClient } from "./gateway-client.ts";
import { openRawSubscriber, type RawSubscriber } from "./gateway-client.ts";
import {
  type Percentiles,
  percentiles,
  processCpuSeconds,
  redisDelta,
  sampleRedis,
} from "./measure.ts";
import { type OrderFeeder, startOrderFeeder } from "./order-feeder.ts";

/** What one fan-out step measured. */
export interface FanoutResult {
  subscribers: number;
  ordersPerSecond: number;
  /** Orders the gateway accepted per second in the window (below the rate when it is overloaded). */
  placedPerSecond: number;
  windowSeconds: number;
  /** Events per second one subscriber received (the probe's count). */
  eventsPerSecond: number;
  /** Lowest share of the probe's events that any subscriber received in the window. */
  minDeliveredRatio: number;
  /** From an event's `occurredAt` to its arrival at the first subscriber. */
  deliveryLagMs: Percentiles;
  /** The same at the last subscriber, served last. */
  lastSubscriberLagMs: Percentiles;
  /** Share of one core the gateway used, in percent. */
  gatewayCpuPercent: number;
  /** Share of one core the bench (all the subscribers) used, in percent. */
  benchCpuPercent: number;
  redisCommandsPerSecond: number;
  /** The feed reads that serve subscriptions (`XREAD`), per second. */
  redisXreadPerSecond: number;
  redisCpuPercent: number;
  /** placeOrder round trips in the window, from a feeder process of its own. */
  placeOrderMs: Percentiles;
  /** The gateway's resident memory at the end of the window (`VmRSS`), in MiB. */
  gatewayRssMiB: number;
}

/** Places orders at a steady rate in the background until stopped. */
export function steadyOrders(client: GatewayClient, ratePerSecond: number) {
  let isStopping = false;
  let errors = 0;
  let placed = 0;
  let latenciesMs: number[] = [];
  const running = (async () => {
    const started = performance.now();
    let sent = 0;
    while (!isStopping) {
      const due = Math.floor(((performance.now() - started) / 1000) * ratePerSecond) + 1;
      for (; sent < due; sent += 1) {
        const sentAt = performance.now();
        client.placeOrder(sent).then(
          () => {
            placed += 1;
            latenciesMs.push(performance.now() - sentAt);
          },
          () => {
            errors += 1;
          },
        );
      }
      await sleep(5);
    }
  })();
  return {
    get errors() {
      return errors;
    },
    /** Orders accepted so far. */
    get placed() {
      return placed;
    },
    /** The round trips of the orders accepted since the last call. */
    takeLatencies(): number[] {
      const taken = latenciesMs;
      latenciesMs = [];
      return taken;
    },
    async stop() {
      isStopping = true;
      await running;
    },
  };
}

/**
 * `count` SSE subscribers on `events` while orders flow at a steady rate: what each receives,
 * how late, and what it costs the gateway and Redis. The subscribers connect before the orders
 * start (a thousand connections opened under load would measure the accept queue). Two probes,
 * the first subscriber and the last (the hub serves listeners in order, so the last waits
 * longest), parse every event for its delivery lag; the others only count frames.
 */
export async function measureFanout(options: {
  gatewayUrl: string;
  gatewayPid: number;
  redis: Redis;
  subscribers: number;
  ordersPerSecond: number;
  windowSeconds: number;
}): Promise<FanoutResult> {
  const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  const last = options.subscribers - 1;
  let isMeasuring = false;
  const lags: [first: number[], last: number[]] = [[], []];
  const subscribers: RawSubscriber[] = [];
  let orders: OrderFeeder | undefined;
  try {
    for (let i = 0; i < options.subscribers; i += 1) {
      const probes = [...(i === 0 ? [0] : []), ...(i === last ? [1] : [])] as Array<0 | 1>;
      subscribers.push(
        openRawSubscriber(
          options.gatewayUrl,
          agent,
          probes.length === 0
            ? undefined
            : (event, receivedAt) => {
                if (!isMeasuring) return;
                const lag = receivedAt - Date.parse(event.occurredAt);
                for (const probe of probes) lags[probe].push(lag);
              },
        ),
      );
      if (i % 50 === 49)
        await withTimeout(
          Promise.all(subscribers.slice(-50).map((s) => s.connected)),
          60_000,
          "connecting subscribers",
        );
    }
    await withTimeout(
      Promise.all(subscribers.map((s) => s.connected)),
      60_000,
      "connecting subscribers",
    );
    orders = startOrderFeeder(options.gatewayUrl, options.ordersPerSecond);
    const deadline = Date.now() + 60_000;
    while (subscribers.some((subscriber) => subscriber.received === 0)) {
      if (Date.now() > deadline) throw new Error("some subscribers received no event in 60 s");
      await sleep(100);
    }
    const settleMs = Math.min(2_000, options.windowSeconds * 1000);
    await sleep(settleMs);
    const countsBefore = subscribers.map((subscriber) => subscriber.received);
    const cpuBefore = await processCpuSeconds(options.gatewayPid);
    const benchBefore = process.cpuUsage();
    const redisBefore = await sampleRedis(options.redis);
    const placedBefore = (await orders.window()).placed;
    isMeasuring = true;
    await sleep(options.windowSeconds * 1000);
    isMeasuring = false;
    const placedWindow = await orders.window();
    const placeOrderMs = percentiles(placedWindow.latenciesMs);
    const gatewayRssMiB = await residentMiB(options.gatewayPid);
    const redisAfter = await sampleRedis(options.redis);
    const placedInWindow = placedWindow.placed - placedBefore;
    const benchCpu = process.cpuUsage(benchBefore);
    const cpuAfter = await processCpuSeconds(options.gatewayPid);
    const seconds = (redisAfter.atMs - redisBefore.atMs) / 1000;
    const delivered = subscribers.map(
      (subscriber, index) => subscriber.received - (countsBefore[index] as number),
    );
    const probeDelivered = Math.max(...delivered);
    const delta = redisDelta(redisBefore, redisAfter);
    return {
      subscribers: options.subscribers,
      ordersPerSecond: options.ordersPerSecond,
      placedPerSecond: placedInWindow / seconds,
      windowSeconds: seconds,
      eventsPerSecond: probeDelivered / seconds,
      minDeliveredRatio: probeDelivered === 0 ? 0 : Math.min(...delivered) / probeDelivered,
      deliveryLagMs: percentiles(lags[0]),
      lastSubscriberLagMs: percentiles(lags[1]),
      gatewayCpuPercent: ((cpuAfter - cpuBefore) / seconds) * 100,
      benchCpuPercent: ((benchCpu.user + benchCpu.system) / 1e6 / seconds) * 100,
      redisCommandsPerSecond: delta.commandsPerSecond,
      redisXreadPerSecond: delta.byCommand.xread ?? 0,
      redisCpuPercent: delta.cpuPercent,
      placeOrderMs,
      gatewayRssMiB,
    };
  } finally {
    await orders?.stop();
    for (const subscriber of subscribers) subscriber.close();
    agent.destroy();
    await sleep(Math.min(2_000, options.windowSeconds * 1000));
  }
}

/** A process's resident memory, from `/proc/<pid>/status`, in MiB. */
async function residentMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  const kib = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN);
  return kib / 1024;
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
