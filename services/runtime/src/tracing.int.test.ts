import { createEvent, createKeys, type EventEnvelope, encodeEvent } from "@conveyor/contract";
import { uniquePrefix, waitFor } from "@conveyor/testkit";
import { context, propagation, SpanKind, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createStreamConsumer } from "./consumer.ts";
import { publishWithAck } from "./publish.ts";
import { createRedis } from "./redis.ts";
import { withProducerSpans } from "./tracing.ts";

const exporter = new InMemorySpanExporter();
const redis = createRedis(inject("redisUrl"), "commands", "tracing-test");
const logger = pino({ level: "silent" });

beforeAll(() => {
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});
afterAll(() => redis.disconnect());

function order(orderId: string): EventEnvelope {
  return createEvent({
    type: "order.created",
    orderId,
    producer: "gateway",
    data: {
      customerId: "c-1",
      items: [{ sku: "KB-001", quantity: 1, unitPriceCents: 500 }],
      totalCents: 500,
      currency: "USD",
      paymentToken: "tok_visa",
    },
  });
}

function spansOf(orderId: string): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((span) => span.attributes["app.order.id"] === orderId);
}

async function runInventory(prefix: string) {
  const keys = createKeys(prefix);
  const consumer = createStreamConsumer({
    redis,
    openBlockingConnection: () => createRedis(inject("redisUrl"), "blocking", "tracing-test"),
    keys,
    group: "inventory",
    consumer: "c1",
    streams: ["order.created"],
    async handle(event) {
      return [
        createEvent({
          type: "inventory.rejected",
          orderId: event.orderId,
          producer: "inventory",
          data: { reason: "INSUFFICIENT_STOCK", message: "none left", lines: [] },
        }),
      ];
    },
    commit: publishWithAck(redis, keys),
    logger,
    blockMs: 200,
  });
  await consumer.start();
  return { keys, consumer };
}

describe("trace context through stream entries", () => {
  it("makes the consumer span a child of the producer span, and the next publish its child", async () => {
    const prefix = uniquePrefix("trace");
    const { keys, consumer } = await runInventory(prefix);
    const root = trace.getTracer("test").startSpan("placeOrder");
    await context.with(trace.setSpan(context.active(), root), () =>
      withProducerSpans([order("traced")], ([stamped]) =>
        redis.xadd(keys.stream("order.created"), "*", ...encodeEvent(stamped as EventEnvelope)),
      ),
    );
    root.end();
    await waitFor("the rejected publish span", () =>
      spansOf("traced").some((span) => span.name === "inventory.rejected publish"),
    );
    await consumer.stop();

    const spans = spansOf("traced");
    const byName = (name: string) => spans.find((span) => span.name === name) as ReadableSpan;
    const produce = byName("order.created publish");
    const process = byName("order.created process");
    const next = byName("inventory.rejected publish");
    expect(new Set(spans.map((span) => span.spanContext().traceId))).toEqual(
      new Set([root.spanContext().traceId]),
    );
    expect(produce.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    expect(process.parentSpanContext?.spanId).toBe(produce.spanContext().spanId);
    expect(next.parentSpanContext?.spanId).toBe(process.spanContext().spanId);
    expect([produce.kind, process.kind, next.kind]).toEqual([
      SpanKind.PRODUCER,
      SpanKind.CONSUMER,
      SpanKind.PRODUCER,
    ]);
    expect(process.attributes).toMatchObject({
      "messaging.system.name": "redis",
      "messaging.destination.name": "order.created",
      "messaging.operation.type": "process",
      "messaging.consumer.group.name": "inventory",
      "redis.stream.message.delivery_count": 1,
      "app.order.id": "traced",
    });
  });

  it("starts a fresh trace for an entry with a garbage traceparent, and still processes it", async () => {
    const prefix = uniquePrefix("trace");
    const { keys, consumer } = await runInventory(prefix);
    const fields = encodeEvent({ ...order("garbage"), traceparent: "00-not-a-trace-01" });
    await redis.xadd(keys.stream("order.created"), "*", ...fields);
    await waitFor(
      "the rejected event",
      async () => (await redis.xlen(keys.stream("inventory.rejected"))) === 1,
    );
    await consumer.stop();
    const process = spansOf("garbage").find((span) => span.name === "order.created process");
    expect(process?.parentSpanContext).toBeUndefined();
    expect(await redis.xlen(keys.deadLetter)).toBe(0);
  });
});
