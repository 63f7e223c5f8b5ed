import { createEvent } from "@conveyor/contract";
import { describe, expect, it } from "vitest";
import { isTracingOff, untraced, withConsumerSpan, withProducerSpans } from "./tracing.ts";

describe("tracing with no telemetry SDK registered", () => {
  it("is off, hands handlers a no-op span and publishes events without trace context", async () => {
    expect(isTracingOff()).toBe(true);
    const event = createEvent({
      type: "inventory.rejected",
      orderId: "o-1",
      producer: "inventory",
      data: { reason: "UNKNOWN_SKU", message: "no such sku", lines: [] },
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    });
    const published = await withConsumerSpan(
      {
        type: "order.created",
        group: "inventory",
        consumer: "c1",
        entryId: "1-0",
        deliveryCount: 1,
        fields: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
      },
      async (span) => {
        expect(span.isRecording()).toBe(false);
        span.addEvent("dead-lettered");
        return withProducerSpans([event], async (stamped) => stamped);
      },
    );
    const { traceparent, ...withoutContext } = event;
    expect(published).toEqual([withoutContext]);
    expect(untraced(() => 42)).toBe(42);
  });
});
