import {
  createEvent,
  createKeys,
  type EventEnvelope,
  encodeEvent,
  NonRetryableError,
} from "@conveyor/contract";
import { uniquePrefix, waitFor } from "@conveyor/testkit";
import { context, propagation, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
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
import { createStreamConsumer, type Handler } from "./consumer.ts";
import { type Publication, publishWithAck } from "./publish.ts";
import { createRedis, serverOf } from "./redis.ts";
import { setMessagingServer, untraced, withProducerSpans } from "./tracing.ts";

const exporter = new InMemorySpanExporter();
const redis = createRedis(inject("redisUrl"), "commands", "tracing-test");
const logger = pino({ level: "silent" });

beforeAll(() => {
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  setMessagingServer(serverOf({ url: inject("redisUrl") }));
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

async function runInventory(prefix: string, handle?: Handler<Publication>) {
  const keys = createKeys(prefix);
  const consumer = createStreamConsumer({
    redis,
    openBlockingConnection: () => createRedis(inject("redisUrl"), "blocking", "tracing-test"),
    keys: keys.partition(0),
    group: "inventory",
    consumer: "c1",
    streams: ["order.created"],
    handle:
      handle ??
      (async (event) => {
        return [
          createEvent({
            type: "inventory.rejected",
            orderId: event.orderId,
            producer: "inventory",
            data: { reason: "INSUFFICIENT_STOCK", message: "none left", lines: [] },
          }),
        ];
      }),
    commit: publishWithAck(redis, keys.partition(0)),
    logger,
    blockMs: 200,
  });
  await consumer.start();
  return { keys, consumer };
}

describe("trace context through stream entries", () => {
  it("makes the process span a child of the publish span, linked to it, and the next publish its child", async () => {
    const prefix = uniquePrefix("trace");
    const { keys, consumer } = await runInventory(prefix);
    const root = trace.getTracer("test").startSpan("placeOrder");
    await context.with(trace.setSpan(context.active(), root), () =>
      withProducerSpans([order("traced")], ([stamped]) =>
        redis.xadd(
          keys.partition(0).stream("order.created"),
          "*",
          ...encodeEvent(stamped as EventEnvelope),
        ),
      ),
    );
    root.end();
    await waitFor("the rejected publish span", () =>
      spansOf("traced").some((span) => span.name === "publish inventory.rejected"),
    );
    await consumer.stop();

    const spans = spansOf("traced");
    const byName = (name: string) => spans.find((span) => span.name === name) as ReadableSpan;
    const produce = byName("publish order.created");
    const process = byName("process order.created");
    const next = byName("publish inventory.rejected");
    expect(new Set(spans.map((span) => span.spanContext().traceId))).toEqual(
      new Set([root.spanContext().traceId]),
    );
    expect(produce.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    expect(process.parentSpanContext?.spanId).toBe(produce.spanContext().spanId);
    expect(next.parentSpanContext?.spanId).toBe(process.spanContext().spanId);
    // The creation context is the parent and also a link, as the messaging conventions ask.
    expect(process.links.map((link) => link.context.spanId)).toEqual([
      produce.spanContext().spanId,
    ]);
    expect(process.links[0]?.context.traceId).toBe(root.spanContext().traceId);
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
      "server.address": serverOf({ url: inject("redisUrl") }).host,
      "server.port": serverOf({ url: inject("redisUrl") }).port,
    });
    expect(produce.attributes).toMatchObject({
      "messaging.operation.type": "send",
      "server.address": serverOf({ url: inject("redisUrl") }).host,
      "server.port": serverOf({ url: inject("redisUrl") }).port,
    });
    expect(process.attributes["error.type"]).toBeUndefined();
  });

  it("sets error.type on a process span whose handler fails, and on one dead-lettered", async () => {
    const prefix = uniquePrefix("trace");
    let attempts = 0;
    const { keys, consumer } = await runInventory(prefix, async (event) => {
      attempts += 1;
      if (event.orderId === "flaky" && attempts === 1) throw new RangeError("not yet");
      if (event.orderId === "poison") throw new NonRetryableError("cannot ever work");
      return [];
    });
    await redis.xadd(
      keys.partition(0).stream("order.created"),
      "*",
      ...encodeEvent(order("flaky")),
    );
    await redis.xadd(
      keys.partition(0).stream("order.created"),
      "*",
      ...encodeEvent(order("poison")),
    );
    await waitFor(
      "the poison entry dead-lettered",
      async () => (await redis.xlen(keys.partition(0).deadLetter)) === 1,
    );
    await waitFor("the flaky entry's failed span", () => spansOf("flaky").length > 0);
    await consumer.stop();
    const [failed] = spansOf("flaky");
    expect(failed?.name).toBe("process order.created");
    expect(failed?.attributes["error.type"]).toBe("RangeError");
    expect(failed?.status.code).toBe(SpanStatusCode.ERROR);
    const [deadLettered] = spansOf("poison");
    expect(deadLettered?.attributes["error.type"]).toBe("dead_lettered");
    expect(deadLettered?.status.code).toBe(SpanStatusCode.ERROR);
  });

  it("starts a fresh trace for an entry with a garbage traceparent, and still processes it", async () => {
    const prefix = uniquePrefix("trace");
    const { keys, consumer } = await runInventory(prefix);
    const fields = encodeEvent({ ...order("garbage"), traceparent: "00-not-a-trace-01" });
    await redis.xadd(keys.partition(0).stream("order.created"), "*", ...fields);
    await waitFor(
      "the rejected event",
      async () => (await redis.xlen(keys.partition(0).stream("inventory.rejected"))) === 1,
    );
    await consumer.stop();
    const process = spansOf("garbage").find((span) => span.name === "process order.created");
    expect(process?.parentSpanContext).toBeUndefined();
    expect(process?.links).toEqual([]);
    expect(await redis.xlen(keys.partition(0).deadLetter)).toBe(0);
  });

  it("records no span started inside untraced work, and the spans around it as usual", async () => {
    const tracer = trace.getTracer("test");
    const outer = tracer.startSpan("outer", { attributes: { "app.order.id": "untraced" } });
    const value = context.with(trace.setSpan(context.active(), outer), () =>
      untraced(() => {
        const inner = tracer.startSpan("inner", { attributes: { "app.order.id": "untraced" } });
        const isRecording = inner.isRecording();
        inner.end();
        return isRecording;
      }),
    );
    outer.end();
    expect(value).toBe(false);
    expect(spansOf("untraced").map((span) => span.name)).toEqual(["outer"]);
  });
});
