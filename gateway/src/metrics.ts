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
 * Observes the pipeline's backlog for metrics exporters: each group's lag and pending entries,
 * the dead-letter count, and the live subscribers of this gateway process.
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
      }
    },
    [lag, pending, deadLetters, subscribers],
  );
}
