import { setTimeout as sleep } from "node:timers/promises";
import type { ServiceProcess } from "../../services/testkit/src/process.ts";
import { type AppName, type LaunchOptions, launch, stopGracefully } from "./apps.ts";
import { type EventsSubscription, type GatewayClient, subscribeEvents } from "./gateway-client.ts";
import { type CpuSnapshot, cpuMsPer, type Percentiles, percentiles } from "./measure.ts";

/** The whole system as real processes, started the way production starts it. */
export interface BenchSystem {
  readonly gatewayUrl: string;
  readonly processes: ReadonlyMap<AppName, ServiceProcess>;
  stop(): Promise<void>;
}

/** Starts the three services and the gateway against the bench's Redis and a fresh prefix. */
export async function startBenchSystem(
  options: LaunchOptions,
  appEnv: Partial<Record<AppName, Record<string, string>>> = {},
  label = "",
): Promise<BenchSystem> {
  const processes = new Map<AppName, ServiceProcess>();
  const apps: AppName[] = ["inventory", "payment", "shipment", "gateway"];
  const results = await Promise.allSettled(
    apps.map(async (app) => {
      const child = await launch(app, options, appEnv[app], `${app}${label}`);
      processes.set(app, child);
    }),
  );
  let isStopping = false;
  const stop = async () => {
    isStopping = true;
    await Promise.all([...processes.values()].map((child) => stopGracefully(child)));
  };
  for (const [app, child] of processes) {
    // A process that dies mid-run would only show up as missing orders: say which, and why.
    void child.exited.then((code) => {
      if (isStopping) return;
      const tail = child.output.join("").split("\n").slice(-30).join("\n");
      process.stderr.write(
        `[bench] ${app} exited (${code}) during the run; its last output:\n${tail}\n`,
      );
    });
  }
  const failure = results.find((result) => result.status === "rejected");
  if (failure) {
    await stop();
    throw failure.reason;
  }
  const gateway = processes.get("gateway") as ServiceProcess;
  return { gatewayUrl: `http://127.0.0.1:${gateway.healthPort}`, processes, stop };
}

/**
 * Watches the `events` subscription for `shipment.created` and matches it to placed orders,
 * whichever of "placeOrder answered" and "shipment seen" happens first.
 */
export interface ShipmentTracker {
  /** Resolves the time the order's shipment was seen (performance.now), or undefined on timeout. */
  waitFor(orderId: string, timeoutMs: number): Promise<number | undefined>;
  /** The time the order's shipment was seen, if it was. */
  shippedAt(orderId: string): number | undefined;
  /** When each step of the order happened (`occurredAt`, as performance.now() time). */
  stepsOf(orderId: string): Partial<Record<string, number>> | undefined;
  readonly eventsSeen: number;
  readonly errors: unknown[];
  /** Resolves once the subscription is established. */
  readonly connected: Promise<void>;
  close(): void;
}

/** Opens the subscription the tracker reads. */
export function trackShipments(gatewayUrl: string): ShipmentTracker {
  const shipped = new Map<string, number>();
  const steps = new Map<string, Partial<Record<string, number>>>();
  const waiters = new Map<string, (at: number) => void>();
  const errors: unknown[] = [];
  let eventsSeen = 0;
  const subscription: EventsSubscription = subscribeEvents(
    gatewayUrl,
    (event, at) => {
      eventsSeen += 1;
      const orderSteps = steps.get(event.orderId) ?? {};
      orderSteps[event.type] = Date.parse(event.occurredAt) - performance.timeOrigin;
      steps.set(event.orderId, orderSteps);
      if (event.type !== "shipment.created") return;
      shipped.set(event.orderId, at);
      const waiter = waiters.get(event.orderId);
      if (waiter) {
        waiters.delete(event.orderId);
        waiter(at);
      }
    },
    (error) => errors.push(error),
  );
  return {
    get eventsSeen() {
      return eventsSeen;
    },
    errors,
    connected: subscription.connected,
    shippedAt: (orderId) => shipped.get(orderId),
    stepsOf: (orderId) => steps.get(orderId),
    waitFor(orderId, timeoutMs) {
      const at = shipped.get(orderId);
      if (at !== undefined) return Promise.resolve(at);
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiters.delete(orderId);
          resolve(undefined);
        }, timeoutMs);
        waiters.set(orderId, (seenAt) => {
          clearTimeout(timer);
          resolve(seenAt);
        });
      });
    },
    close() {
      subscription.dispose();
    },
  };
}

/** Places orders until one is seen shipped on the subscription: the pipeline is warm and wired. */
export async function warmUp(
  client: GatewayClient,
  tracker: ShipmentTracker,
  count = 20,
): Promise<void> {
  const deadline = Date.now() + 30_000;
  await tracker.connected;
  // The subscription is live from when the gateway registers it, which may come a little after
  // the response headers: orders shipped before that are not seen, so try again until one is.
  while (Date.now() < deadline) {
    const ids = await Promise.all(Array.from({ length: count }, (_, i) => client.placeOrder(i)));
    const seen = await Promise.all(ids.map((id) => tracker.waitFor(id, 2_000)));
    if (seen.every((at) => at !== undefined)) return;
  }
  throw new Error("no order reached shipment.created on the subscription within 30 s");
}

/** The hops of an order's path, in order, named after the step that ends each. */
export const HOPS = [
  "order.created",
  "inventory.reserved",
  "payment.processed",
  "shipment.created",
  "subscriber",
] as const;

function hopRecorder() {
  const samples: Record<string, number[]> = Object.fromEntries(HOPS.map((hop) => [hop, []]));
  return {
    add(startedAt: number, steps: Partial<Record<string, number>> | undefined, seenAt: number) {
      if (!steps) return;
      let previous = startedAt;
      for (const hop of HOPS) {
        const at = hop === "subscriber" ? seenAt : steps[hop];
        if (at === undefined) return;
        samples[hop]?.push(at - previous);
        previous = at;
      }
    },
    percentiles(): Record<string, Percentiles> {
      return Object.fromEntries(HOPS.map((hop) => [hop, percentiles(samples[hop] ?? [])]));
    },
  };
}

/** What one open-loop step measured. */
export interface OpenLoopResult {
  offeredPerSecond: number;
  durationSeconds: number;
  placed: number;
  errors: number;
  shipped: number;
  /** Orders shipped per second, over the step (or until the last shipment, if later). */
  shippedPerSecond: number;
  /** From each order's scheduled send time to its `shipment.created` on the subscription. */
  latencyMs: Percentiles;
  /** From each order's scheduled send time to the placeOrder response. */
  placeOrderMs: Percentiles;
  /**
   * Where the time went, per hop, from the events' `occurredAt` (ms resolution, one clock):
   * scheduled send → order.created (gateway) → inventory.reserved → payment.processed →
   * shipment.created → seen on the subscription (projection, feed, SSE).
   */
  hopsMs: Record<string, Percentiles>;
  /** Whether the system kept up: ≥ 95 % of the offered rate, all shipped, p99 under 1 s. */
  isKeepingUp: boolean;
  /** CPU milliseconds each process spent per shipped order during the step. */
  cpuMsPerOrder: CpuSnapshot;
  firstError?: string;
}

/** Reads the CPU time of the system's processes (see `cpuSnapshot`). */
export type CpuProbe = () => Promise<CpuSnapshot>;

/**
 * Sends placeOrder at a fixed arrival rate for a while (open loop: a slow answer does not slow
 * the sender), then waits for every accepted order's shipment. Latency counts from the scheduled
 * send time, so queueing in the client is not hidden (no coordinated omission).
 */
export async function runOpenLoop(
  client: GatewayClient,
  tracker: ShipmentTracker,
  ratePerSecond: number,
  durationSeconds: number,
  cpu: CpuProbe,
  graceMs = 20_000,
): Promise<OpenLoopResult> {
  const total = Math.max(1, Math.round(ratePerSecond * durationSeconds));
  const cpuBefore = await cpu();
  const started = performance.now();
  const placements: Array<Promise<{ scheduledAt: number; orderId?: string; respondedAt: number }>> =
    [];
  let errors = 0;
  let firstError: string | undefined;
  for (let sent = 0; sent < total; ) {
    const due = Math.min(
      total,
      Math.floor(((performance.now() - started) / 1000) * ratePerSecond) + 1,
    );
    for (; sent < due; sent += 1) {
      const scheduledAt = started + (sent / ratePerSecond) * 1000;
      placements.push(
        client.placeOrder(sent).then(
          (orderId) => ({ scheduledAt, orderId, respondedAt: performance.now() }),
          (error: unknown) => {
            errors += 1;
            firstError ??= String(error);
            return { scheduledAt, respondedAt: performance.now() };
          },
        ),
      );
    }
    await sleep(1);
  }
  const placed = await Promise.all(placements);
  const sendEnd = performance.now();
  const accepted = placed.filter((p) => p.orderId !== undefined);
  const remainingMs = Math.max(1_000, graceMs - (performance.now() - sendEnd));
  const deadline = performance.now() + remainingMs;
  const shippedTimes = await Promise.all(
    accepted.map((p) =>
      tracker.waitFor(p.orderId as string, Math.max(1, deadline - performance.now())),
    ),
  );
  const latencies: number[] = [];
  let lastShipped = started;
  const hops = hopRecorder();
  accepted.forEach((p, index) => {
    const at = shippedTimes[index];
    if (at === undefined) return;
    latencies.push(at - p.scheduledAt);
    lastShipped = Math.max(lastShipped, at);
    hops.add(p.scheduledAt, tracker.stepsOf(p.orderId as string), at);
  });
  const shipped = latencies.length;
  const cpuAfter = await cpu();
  const spanSeconds = Math.max(durationSeconds, (lastShipped - started) / 1000);
  const latencyMs = percentiles(latencies);
  const shippedPerSecond = shipped / spanSeconds;
  return {
    offeredPerSecond: ratePerSecond,
    durationSeconds,
    placed: accepted.length,
    errors,
    shipped,
    shippedPerSecond,
    latencyMs,
    placeOrderMs: percentiles(accepted.map((p) => p.respondedAt - p.scheduledAt)),
    hopsMs: hops.percentiles(),
    isKeepingUp:
      errors === 0 &&
      shipped === total &&
      shippedPerSecond >= 0.95 * ratePerSecond &&
      latencyMs.p99 < 1_000,
    cpuMsPerOrder: cpuMsPer(cpuBefore, cpuAfter, shipped),
    ...(firstError ? { firstError } : {}),
  };
}

/** What one closed-loop run measured. */
export interface ClosedLoopResult {
  workers: number;
  durationSeconds: number;
  shipped: number;
  errors: number;
  shippedPerSecond: number;
  latencyMs: Percentiles;
  cpuMsPerOrder: CpuSnapshot;
}

/**
 * `workers` clients, each placing an order and waiting for its shipment before the next: the
 * throughput the system gives when every client waits for its answer.
 */
export async function runClosedLoop(
  client: GatewayClient,
  tracker: ShipmentTracker,
  workers: number,
  durationSeconds: number,
  cpu: CpuProbe,
): Promise<ClosedLoopResult> {
  const cpuBefore = await cpu();
  const started = performance.now();
  const deadline = started + durationSeconds * 1000;
  const latencies: number[] = [];
  let errors = 0;
  let counter = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (performance.now() < deadline) {
        const at = performance.now();
        counter += 1;
        try {
          const orderId = await client.placeOrder(counter);
          const shippedAt = await tracker.waitFor(orderId, 30_000);
          if (shippedAt === undefined) errors += 1;
          else latencies.push(shippedAt - at);
        } catch {
          errors += 1;
          await sleep(10);
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpuAfter = await cpu();
  return {
    workers,
    durationSeconds,
    shipped: latencies.length,
    errors,
    shippedPerSecond: latencies.length / seconds,
    latencyMs: percentiles(latencies),
    cpuMsPerOrder: cpuMsPer(cpuBefore, cpuAfter, latencies.length),
  };
}

/** Waits until the tracker has seen nothing new for `quietMs` (the pipeline is idle again). */
export async function settle(tracker: ShipmentTracker, quietMs = 500, maxMs = 10_000) {
  const deadline = Date.now() + maxMs;
  let last = tracker.eventsSeen;
  while (Date.now() < deadline) {
    await sleep(quietMs);
    if (tracker.eventsSeen === last) return;
    last = tracker.eventsSeen;
  }
}
