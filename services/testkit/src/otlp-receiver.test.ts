import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { describe, expect, it, onTestFinished } from "vitest";
import { OtlpSpanKind, startOtlpReceiver } from "./otlp-receiver.ts";

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
});
