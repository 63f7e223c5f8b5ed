import { metrics } from "@opentelemetry/api";

const meter = metrics.getMeter("@conveyor/runtime");

/** How an entry's processing ended. */
export type Outcome = "processed" | "retry" | "dead_lettered" | "duplicate";

/** The runtime's instruments (no-ops until a telemetry SDK is started). */
export const runtimeMetrics = {
  processed: meter.createCounter("conveyor.events.processed", {
    description: "Stream entries handled, by service, event type and outcome",
  }),
  duration: meter.createHistogram("conveyor.event.processing.duration", {
    description: "Time from reading an entry to committing its outcome",
    unit: "s",
    advice: {
      explicitBucketBoundaries: [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
      ],
    },
  }),
  deadLettered: meter.createCounter("conveyor.events.dead_lettered", {
    description: "Entries moved to the dead-letter stream",
  }),
  inFlight: meter.createUpDownCounter("conveyor.events.in_flight", {
    description: "Entries being handled now",
  }),
};
