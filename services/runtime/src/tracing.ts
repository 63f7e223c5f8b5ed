import type { EventEnvelope } from "@conveyor/contract";
import {
  type Attributes,
  type Context,
  context,
  INVALID_SPAN_CONTEXT,
  ProxyTracerProvider,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";

const TRACER_NAME = "@conveyor/runtime";
const tracer = trace.getTracer(TRACER_NAME);

/** What handlers get as their span when tracing is off: every method is a no-op. */
const NOOP_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/**
 * Whether tracing is off: neither a tracer provider nor a propagator is registered (no telemetry
 * SDK, or `OTEL_SDK_DISABLED=true`). Spans would then all be no-ops and nothing would be
 * injected, so the per-entry span and context work is skipped. Checked on every call, since a
 * provider may be registered after this module is loaded.
 */
export function isTracingOff(): boolean {
  if (propagation.fields().length > 0) return false;
  const provider = trace.getTracerProvider();
  return (
    provider instanceof ProxyTracerProvider && provider.getDelegateTracer(TRACER_NAME) === undefined
  );
}

/** An event without trace context, as a publish with nothing to inject sends it. */
function withoutTraceContext(event: EventEnvelope): EventEnvelope {
  if (!event.traceparent && !event.tracestate && !event.baggage) return event;
  const { traceparent, tracestate, baggage, ...rest } = event;
  return rest as EventEnvelope;
}

/**
 * Attribute names from OpenTelemetry's messaging semantic conventions. They are still
 * "incubating" upstream, so they are copied here rather than imported, as the conventions
 * advise; the delivery count follows the vendor pattern (`azure.servicebus.message.delivery_count`).
 */
export const MessagingAttributes = {
  system: "messaging.system.name",
  destination: "messaging.destination.name",
  operationType: "messaging.operation.type",
  operationName: "messaging.operation.name",
  messageId: "messaging.message.id",
  consumerGroup: "messaging.consumer.group.name",
  clientId: "messaging.client.id",
  deliveryCount: "redis.stream.message.delivery_count",
  entryId: "redis.stream.entry_id",
  orderId: "app.order.id",
} as const;

const SYSTEM = "redis";

/** The trace-context fields an event carries: W3C `traceparent`, `tracestate`, `baggage`. */
type TraceCarrier = { traceparent?: string; tracestate?: string; baggage?: string };

function carrierOf(event: TraceCarrier): Record<string, string> {
  const carrier: Record<string, string> = {};
  if (event.traceparent) carrier.traceparent = event.traceparent;
  if (event.tracestate) carrier.tracestate = event.tracestate;
  if (event.baggage) carrier.baggage = event.baggage;
  return carrier;
}

/** Records an error on a span: the exception event and an ERROR status. */
export function recordError(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : new Error(String(error)));
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
}

/**
 * Publishes events inside PRODUCER spans (`<type> publish`), children of the active context:
 * each event gets its span's context injected into `traceparent`/`tracestate`/`baggage`, so the
 * consumer's span continues the same trace. `publish` receives the stamped events.
 */
export async function withProducerSpans<T>(
  events: readonly EventEnvelope[],
  publish: (stamped: EventEnvelope[]) => Promise<T>,
): Promise<T> {
  if (isTracingOff()) return publish(events.map(withoutTraceContext));
  const spans = events.map((event) =>
    tracer.startSpan(`${event.type} publish`, {
      kind: SpanKind.PRODUCER,
      attributes: {
        [MessagingAttributes.system]: SYSTEM,
        [MessagingAttributes.destination]: event.type,
        [MessagingAttributes.operationType]: "send",
        [MessagingAttributes.operationName]: "publish",
        [MessagingAttributes.messageId]: event.id,
        [MessagingAttributes.orderId]: event.orderId,
      },
    }),
  );
  const stamped = events.map((event, index) => {
    const carrier: Record<string, string> = {};
    propagation.inject(trace.setSpan(context.active(), spans[index] as Span), carrier);
    const { traceparent, tracestate, baggage, ...rest } = event;
    return {
      ...rest,
      ...(carrier.traceparent ? { traceparent: carrier.traceparent } : {}),
      ...(carrier.tracestate ? { tracestate: carrier.tracestate } : {}),
      ...(carrier.baggage ? { baggage: carrier.baggage } : {}),
    } as EventEnvelope;
  });
  try {
    return await publish(stamped);
  } catch (error) {
    for (const span of spans) recordError(span, error);
    throw error;
  } finally {
    for (const span of spans) span.end();
  }
}

/** What a consumer span describes. */
export interface ConsumerSpanInput {
  /** The event type (or what the entry claimed to be). */
  type: string;
  group: string;
  consumer: string;
  entryId: string;
  deliveryCount: number;
  /** The entry's raw fields: the trace context is read from them. */
  fields: Readonly<Record<string, string>>;
}

/**
 * Runs `work` inside a CONSUMER span (`<type> process`) whose parent is the context the entry
 * carries, so one order is one trace across services. A missing or malformed traceparent just
 * starts a new trace. A redelivery is marked with a span event.
 */
export async function withConsumerSpan<T>(
  input: ConsumerSpanInput,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  if (isTracingOff()) return work(NOOP_SPAN);
  const parent: Context = propagation.extract(ROOT_CONTEXT, carrierOf(input.fields));
  const attributes: Attributes = {
    [MessagingAttributes.system]: SYSTEM,
    [MessagingAttributes.destination]: input.type,
    [MessagingAttributes.operationType]: "process",
    [MessagingAttributes.operationName]: "process",
    [MessagingAttributes.consumerGroup]: input.group,
    [MessagingAttributes.clientId]: input.consumer,
    [MessagingAttributes.entryId]: input.entryId,
    [MessagingAttributes.deliveryCount]: input.deliveryCount,
  };
  if (input.fields.id) attributes[MessagingAttributes.messageId] = input.fields.id;
  if (input.fields.orderId) attributes[MessagingAttributes.orderId] = input.fields.orderId;
  const span = tracer.startSpan(
    `${input.type} process`,
    { kind: SpanKind.CONSUMER, attributes },
    parent,
  );
  if (input.deliveryCount > 1)
    span.addEvent("redelivered", { [MessagingAttributes.deliveryCount]: input.deliveryCount });
  try {
    return await context.with(trace.setSpan(parent, span), () => work(span));
  } catch (error) {
    recordError(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** The trace id of the active span, or undefined when nothing is traced. */
export function activeTraceId(): string | undefined {
  const spanContext = trace.getActiveSpan()?.spanContext();
  return spanContext && trace.isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}
