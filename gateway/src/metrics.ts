import { metrics } from "@opentelemetry/api";
import { decodeTime } from "ulid";
import type { PipelineHealth } from "./health/pipeline-health.ts";
import type { Projection } from "./read-model/projection.ts";

const meter = metrics.getMeter("@conveyor/gateway");

const TERMINAL_STATUSES = new Set(["SHIPPED", "REJECTED", "CANCELLED"]);

const orderDuration = meter.createHistogram("conveyor.order.duration", {
  description: "Time from an order's placement to its final state (SHIPPED, REJECTED, CANCELLED)",
  unit: "s",
  advice: { explicitBucketBoundaries: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] },
});

const placeOrderRequests = meter.createCounter("conveyor.place_order.requests", {
  description: "placeOrder calls, by outcome: ok, or the error code the client got",
});

const placeOrderDuration = meter.createHistogram("conveyor.place_order.duration", {
  description: "Time to answer a placeOrder call (rate limit, pricing, publishing order.created)",
  unit: "s",
  advice: { explicitBucketBoundaries: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] },
});

const slowSubscriberCloses = meter.createCounter("conveyor.subscribers.slow_closed", {
  description: "Subscriptions closed with SLOW_SUBSCRIBER: they fell too far behind the feed",
});

// Counters appear in /metrics at their first increment; starting them at 0 lets dashboards and
// alerts tell "none yet" from "not exported".
for (const subscription of ["orderEvents", "events"]) slowSubscriberCloses.add(0, { subscription });

/** The `extensions.code` of a GraphQL error, or INTERNAL_SERVER_ERROR for anything else. */
function codeOf(error: unknown): string {
  const code = (error as { extensions?: { code?: unknown } } | null)?.extensions?.code;
  return typeof code === "string" ? code : "INTERNAL_SERVER_ERROR";
}

/** Counts and times one placeOrder call; resolves (or rejects) as `call` does. */
export async function measurePlaceOrder<T>(call: () => Promise<T>): Promise<T> {
  const startedAt = performance.now();
  let outcome = "ok";
  try {
    return await call();
  } catch (error) {
    outcome = codeOf(error);
    throw error;
  } finally {
    placeOrderRequests.add(1, { outcome });
    placeOrderDuration.record((performance.now() - startedAt) / 1000, { outcome });
  }
}

/** Counts a subscription ended because it fell behind (`subscription`: its field name). */
export function recordSubscriptionEnd(subscription: string, error: Error): void {
  if (codeOf(error) === "SLOW_SUBSCRIBER") slowSubscriberCloses.add(1, { subscription });
}

/**
 * Records the end-to-end latency of an order when the read model applies its final event. The
 * order's placement time is read from its id (a ULID carries its creation time).
 */
export function recordOrderOutcome(projection: Projection): void {
  if (!TERMINAL_STATUSES.has(projection.status)) return;
  let placedAtMs: number;
  try {
    placedAtMs = decodeTime(projection.orderId);
  } catch {
    return; // An order id from elsewhere (a load test feeding a stream) has no time in it.
  }
  const seconds = (Date.parse(projection.occurredAt) - placedAtMs) / 1000;
  if (seconds >= 0) orderDuration.record(seconds, { status: projection.status });
}

/**
 * Observes the pipeline's backlog for metrics exporters: each group's lag, pending entries, age
 * of its oldest pending entry and live consumers, the dead-letter count, and the live
 * subscribers of this gateway process. Any gateway replica reports the same pipeline values
 * (aggregate them with max, not sum); subscribers are per process.
 */
export function observePipeline(health: PipelineHealth, subscriberCount: () => number): void {
  const lag = meter.createObservableGauge("conveyor.consumer.lag", {
    description: "Entries of a stream not yet delivered to a consumer group",
  });
  const pending = meter.createObservableGauge("conveyor.consumer.pending", {
    description: "Entries delivered to a consumer group and not yet acknowledged",
  });
  const deadLetters = meter.createObservableGauge("conveyor.dead_letter.count", {
    description: "Entries in the dead-letter stream",
  });
  const subscribers = meter.createObservableGauge("conveyor.subscribers", {
    description: "GraphQL subscriptions open on this gateway process",
  });
  const liveConsumers = meter.createObservableGauge("conveyor.consumer.live", {
    description: "Consumers of a group running now (holding a live lease); 0 = nobody works it",
  });
  const oldestPendingAge = meter.createObservableGauge("conveyor.consumer.pending.oldest_age", {
    description: "Age of the oldest entry delivered to a group and not yet acknowledged (0: none)",
    unit: "s",
  });
  meter.addBatchObservableCallback(
    async (observer) => {
      observer.observe(subscribers, subscriberCount());
      const report = await health.report().catch(() => undefined);
      if (!report) return;
      observer.observe(deadLetters, report.deadLetterCount);
      for (const group of report.groups) {
        const attributes = { stream: group.stream, group: group.group };
        if (group.lag !== null) observer.observe(lag, group.lag, attributes);
        observer.observe(pending, group.pending, attributes);
        observer.observe(liveConsumers, group.liveConsumers, attributes);
        observer.observe(oldestPendingAge, (group.oldestPendingAgeMs ?? 0) / 1000, attributes);
      }
    },
    [lag, pending, deadLetters, subscribers, liveConsumers, oldestPendingAge],
  );
}
