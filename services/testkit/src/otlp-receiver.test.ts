import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { describe, expect, it, onTestFinished } from "vitest";
import { OtlpSpanKind, startOtlpReceiver } from "./otlp-receiver.ts";

/** Sends spans of two scopes, with attributes, events and links, over http/protobuf, in batches. */
async function exportSpans(endpoint: string, count: number): Promise<void> {
  const provider = new BasicTracerProvider({
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint}/v1/traces` }), {
        maxExportBatchSize: 16,
      }),
    ],
  });
  const scopes = [provider.getTracer("first"), provider.getTracer("second")];
  for (let index = 0; index < count; index += 1) {
    const tracer = scopes[index % 2] as (typeof scopes)[number];
    const parent = tracer.startSpan("publish order.created", { kind: SpanKind.PRODUCER });
    parent.end();
    const span = tracer.startSpan(
      `process ${"x".repeat(index * 40)}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: { "server.port": 6379, index, ratio: 0.5, isRetry: true, big: 2 ** 40 },
        links: [{ context: parent.spanContext() }],
      },
      trace.setSpan(ROOT_CONTEXT, parent),
    );
    span.addEvent("redelivered", { "redis.stream.message.delivery_count": 2 });
    span.end();
  }
  await provider.forceFlush();
  await provider.shutdown();
}

describe("the OTLP receiver", () => {
  it("decodes what the http/protobuf exporter sends: ids, kind, times, attributes, events, links, status", async () => {
    const receiver = await startOtlpReceiver();
    onTestFinished(() => receiver.stop());
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      spanProcessors: [
        new SimpleSpanProcessor(memory),
        new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${receiver.endpoint}/v1/traces` })),
      ],
    });
    onTestFinished(() => provider.shutdown());
    const tracer = provider.getTracer("receiver-test");
    const producer = tracer.startSpan("publish order.created", { kind: SpanKind.PRODUCER });
    producer.end();
    const consumer = tracer.startSpan(
      "process order.created",
      {
        kind: SpanKind.CONSUMER,
        attributes: { "server.port": 6379, "app.order.id": "o-1", ratio: 0.5, isRetry: true },
        links: [{ context: producer.spanContext() }],
      },
      trace.setSpan(ROOT_CONTEXT, producer),
    );
    consumer.addEvent("redelivered");
    consumer.setStatus({ code: SpanStatusCode.ERROR, message: "boom" });
    consumer.end();
    await provider.forceFlush();

    const sent = memory.getFinishedSpans().find((span) => span.name === "process order.created");
    const [received] = receiver.spans.filter((span) => span.name === "process order.created");
    expect(received).toMatchObject({
      service: expect.any(String),
      traceId: sent?.spanContext().traceId,
      spanId: sent?.spanContext().spanId,
      parentSpanId: producer.spanContext().spanId,
      kind: OtlpSpanKind.CONSUMER,
      attributes: { "server.port": 6379, "app.order.id": "o-1", ratio: 0.5, isRetry: true },
      events: ["redelivered"],
      links: [{ traceId: producer.spanContext().traceId, spanId: producer.spanContext().spanId }],
      statusCode: 2,
    });
    expect(received?.endNs).toBeGreaterThan(received?.startNs ?? 0n);
    expect(receiver.traceExports.json).toBe(0);
    expect(received?.startNs).toBeGreaterThan(1_600_000_000_000_000_000n);
    const root = receiver.spans.find((span) => span.name === "publish order.created");
    expect(root).toMatchObject({ kind: OtlpSpanKind.PRODUCER, parentSpanId: undefined, links: [] });
  });

  it("only counts the spans when not decoding, and counts as many as it decodes", async () => {
    const decoding = await startOtlpReceiver();
    const counting = await startOtlpReceiver({ isDecoding: false });
    onTestFinished(() => Promise.all([decoding.stop(), counting.stop()]).then(() => {}));
    await exportSpans(decoding.endpoint, 30);
    await exportSpans(counting.endpoint, 30);

    expect(decoding.spans).toHaveLength(60);
    expect(decoding.spanCount).toBe(60);
    expect(counting.spanCount).toBe(60);
    expect(counting.spans).toEqual([]);
    expect(counting.traceExports).toEqual({ protobuf: decoding.traceExports.protobuf, json: 0 });
    expect(counting.traceExports.protobuf).toBeGreaterThan(1);
  });
});
