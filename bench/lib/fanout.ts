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

/** What one fan-out step measured. */
export interface FanoutResult {
  subscribers: number;
  ordersPerSecond: number;
  windowSeconds: number;
  /** Events per second one subscriber received (the probe's count). */
  eventsPerSecond: number;
  /** Lowest share of the probe's events that any subscriber received in the window. */
  minDeliveredRatio: number;
  /** From an event's `occurredAt` to its arrival at a probe subscriber. */
  deliveryLagMs: Percentiles;
  /** Share of one core the gateway used, in percent. */
  gatewayCpuPercent: number;
  redisCommandsPerSecond: number;
  /** The feed reads that serve subscriptions (`XREAD`), per second. */
  redisXreadPerSecond: number;
  redisCpuPercent: number;
}

/** Places orders at a steady rate in the background until stopped. */
export function steadyOrders(client: GatewayClient, ratePerSecond: number) {
  let isStopping = false;
  let errors = 0;
  const running = (async () => {
    const started = performance.now();
    let sent = 0;
    while (!isStopping) {
      const due = Math.floor(((performance.now() - started) / 1000) * ratePerSecond) + 1;
      for (; sent < due; sent += 1) {
        client.placeOrder(sent).catch(() => {
          errors += 1;
        });
      }
      await sleep(5);
    }
  })();
  return {
    get errors() {
      return errors;
    },
    async stop() {
      isStopping = true;
      await running;
    },
  };
}

/**
 * `count` SSE subscribers on `events` while orders flow at a steady rate: what each receives,
 * how late, and what it costs the gateway and Redis. Probes (up to 5) parse every event for the
 * delivery lag; the others only count frames.
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
  const probeCount = Math.min(5, options.subscribers);
  let isMeasuring = false;
  const lags: number[] = [];
  const subscribers: RawSubscriber[] = [];
  try {
    for (let i = 0; i < options.subscribers; i += 1) {
      const isProbe = i < probeCount;
      subscribers.push(
        openRawSubscriber(
          options.gatewayUrl,
          agent,
          isProbe
            ? (event, receivedAt) => {
                if (isMeasuring && i === 0) lags.push(receivedAt - Date.parse(event.occurredAt));
              }
            : undefined,
        ),
      );
      // Opening a thousand connections at once would overflow the accept queue: open them in
      // groups of 25, each once the previous group is connected.
      if (i % 25 === 24) await Promise.all(subscribers.slice(-25).map((s) => s.connected));
    }
    await Promise.all(subscribers.map((subscriber) => subscriber.connected));
    const deadline = Date.now() + 30_000;
    while (subscribers.some((subscriber) => subscriber.received === 0)) {
      if (Date.now() > deadline) throw new Error("some subscribers received no event in 30 s");
      await sleep(100);
    }
    await sleep(1_000);
    const countsBefore = subscribers.map((subscriber) => subscriber.received);
    const cpuBefore = await processCpuSeconds(options.gatewayPid);
    const redisBefore = await sampleRedis(options.redis);
    isMeasuring = true;
    await sleep(options.windowSeconds * 1000);
    isMeasuring = false;
    const redisAfter = await sampleRedis(options.redis);
    const cpuAfter = await processCpuSeconds(options.gatewayPid);
    const seconds = (redisAfter.atMs - redisBefore.atMs) / 1000;
    const delivered = subscribers.map(
      (subscriber, index) => subscriber.received - (countsBefore[index] as number),
    );
    const probeDelivered = delivered[0] as number;
    const delta = redisDelta(redisBefore, redisAfter);
    return {
      subscribers: options.subscribers,
      ordersPerSecond: options.ordersPerSecond,
      windowSeconds: seconds,
      eventsPerSecond: probeDelivered / seconds,
      minDeliveredRatio: probeDelivered === 0 ? 0 : Math.min(...delivered) / probeDelivered,
      deliveryLagMs: percentiles(lags),
      gatewayCpuPercent: ((cpuAfter - cpuBefore) / seconds) * 100,
      redisCommandsPerSecond: delta.commandsPerSecond,
      redisXreadPerSecond: delta.byCommand.xread ?? 0,
      redisCpuPercent: delta.cpuPercent,
    };
  } finally {
    for (const subscriber of subscribers) subscriber.close();
    agent.destroy();
    await sleep(500);
  }
}
