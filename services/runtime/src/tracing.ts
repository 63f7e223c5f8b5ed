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
import { suppressTracing } from "@opentelemetry/core";

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

/** Attribute names of OpenTelemetry's general conventions (stable). */
export const GeneralAttributes = {
  errorType: "error.type",
  serverAddress: "server.address",
  serverPort: "server.port",
} as const;

/** `error.type` of a consumer span whose entry went to the dead-letter stream. */
export const DEAD_LETTERED_ERROR_TYPE = "dead_lettered";

/** The Redis server every messaging span names (`server.address`, `server.port`). */
let serverAttributes: Attributes = {};

/**
 * Names the Redis server that this process's streams live on, for the `server.address` and
 * `server.port` of every publish and process span. Called once at start, by the worker and the
 * gateway, with their command connection's host and port.
 */
export function setMessagingServer(server: {
  host?: string | undefined;
  port?: number | undefined;
}): void {
  serverAttributes = {
    ...(server.host ? { [GeneralAttributes.serverAddress]: server.host } : {}),
    ...(server.port ? { [GeneralAttributes.serverPort]: server.port } : {}),
  };
}

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

/**
 * The `error.type` of an error: its class name (`ReplyError`, `NonRetryableError`, …), a
 * low-cardinality identifier as the conventions ask; `_OTHER` when there is none.
 */
export function errorTypeOf(error: unknown): string {
  if (error instanceof Error) return error.constructor.name || error.name || "_OTHER";
  return "_OTHER";
}

/** Records an error on a span: the exception event, `error.type` and an ERROR status. */
export function recordError(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : new Error(String(error)));
  span.setAttribute(GeneralAttributes.errorType, errorTypeOf(error));
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
}

/**
 * Publishes events inside PRODUCER spans (`publish <type>`), children of the active context:
 * each event gets its span's context injected into `traceparent`/`tracestate`/`baggage`, so the
 * consumer's span continues the same trace. `publish` receives the stamped events.
 */
export async function withProducerSpans<T>(
  events: readonly EventEnvelope[],
  publish: (stamped: EventEnvelope[]) => Promise<T>,
): Promise<T> {
  if (isTracingOff()) return publish(events.map(withoutTraceContext));
  const spans = events.map((event) =>
    tracer.startSpan(`publish ${event.type}`, {
      kind: SpanKind.PRODUCER,
      attributes: {
        ...serverAttributes,
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
 * Marks a span's ERROR status with an `error.type` when none was recorded yet: the consumer sets
 * an ERROR status itself when it dead-letters an entry, without an exception to name.
 */
function withErrorType(span: Span): Span {
  let hasErrorType = false;
  return new Proxy(span, {
    get(target, property, receiver) {
      if (property === "setAttribute") {
        return (key: string, value: Parameters<Span["setAttribute"]>[1]) => {
          if (key === GeneralAttributes.errorType) hasErrorType = true;
          target.setAttribute(key, value);
          return receiver;
        };
      }
      if (property === "setStatus") {
        return (status: Parameters<Span["setStatus"]>[0]) => {
          if (status.code === SpanStatusCode.ERROR && !hasErrorType) {
            hasErrorType = true;
            const isDeadLettered = status.message?.startsWith("dead-lettered") ?? false;
            target.setAttribute(
              GeneralAttributes.errorType,
              isDeadLettered ? DEAD_LETTERED_ERROR_TYPE : "_OTHER",
            );
          }
          target.setStatus(status);
          return receiver;
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/**
 * Runs `work` inside a CONSUMER span (`process <type>`) whose parent is the context the entry
 * carries, so one order is one trace across services; the span also links to that creation
 * context, as the messaging conventions ask of a process span. A missing or malformed
 * traceparent just starts a new trace. A redelivery is marked with a span event.
 */
export async function withConsumerSpan<T>(
  input: ConsumerSpanInput,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  if (isTracingOff()) return work(NOOP_SPAN);
  const parent: Context = propagation.extract(ROOT_CONTEXT, carrierOf(input.fields));
  const attributes: Attributes = {
    ...serverAttributes,
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
  const creation = trace.getSpanContext(parent);
  const links = creation && trace.isSpanContextValid(creation) ? [{ context: creation }] : [];
  const span = withErrorType(
    tracer.startSpan(
      `process ${input.type}`,
      { kind: SpanKind.CONSUMER, attributes, links },
      parent,
    ),
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

/**
 * Runs `work` with tracing suppressed: spans started inside it are not recorded, so not exported.
 * For work done outside any request or message on behalf of many (a subscription's shared
 * execution per event), where an instrumentation would otherwise start a one-span trace of its
 * own each time, in no order's trace.
 */
export function untraced<T>(work: () => T): T {
  if (isTracingOff()) return work();
  return context.with(suppressTracing(context.active()), work);
}

/** The trace id of the active span, or undefined when nothing is traced. */
export function activeTraceId(): string | undefined {
  const spanContext = trace.getActiveSpan()?.spanContext();
  return spanContext && trace.isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}
