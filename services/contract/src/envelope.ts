import { z } from "zod";
import { EVENT_TYPES, type EventType, SERVICE_NAMES } from "./event-types.ts";
import { createUlidFactory } from "./ids.ts";
import { PAYLOAD_SCHEMAS, type PayloadOf } from "./payloads.ts";

/** The envelope schema version this code writes and reads. */
export const ENVELOPE_VERSION = "1";

const traceparentShape = z.string().max(128);

const baseFields = {
  id: z.string().min(1).max(64),
  orderId: z.string().min(1).max(64),
  occurredAt: z.iso.datetime(),
  producer: z.enum(SERVICE_NAMES),
  version: z.literal(ENVELOPE_VERSION),
  /** W3C trace context; a missing or malformed one starts a new trace rather than failing. */
  traceparent: traceparentShape.optional(),
  tracestate: z.string().max(512).optional(),
  /** W3C baggage, carried along with the trace context. */
  baggage: z.string().max(8192).optional(),
};

function envelopeOf<T extends EventType>(type: T) {
  return z.object({ ...baseFields, type: z.literal(type), data: PAYLOAD_SCHEMAS[type] });
}

/** One event, validated: every event type shares the envelope and has its own `data`. */
export const EventEnvelope = z.discriminatedUnion("type", [
  envelopeOf("order.created"),
  envelopeOf("inventory.reserved"),
  envelopeOf("inventory.rejected"),
  envelopeOf("payment.processed"),
  envelopeOf("payment.failed"),
  envelopeOf("inventory.released"),
  envelopeOf("shipment.created"),
]);
export type EventEnvelope = z.infer<typeof EventEnvelope>;

/** The envelope of one event type. */
export type EventOf<T extends EventType> = Extract<EventEnvelope, { type: T }>;

/** The result of decoding a stream entry: the event, or why it is not one. */
export type DecodeResult = { ok: true; event: EventEnvelope } | { ok: false; reason: string };

const nextId = createUlidFactory();

/** Makes a new event with a fresh time-ordered id, stamped now. */
export function createEvent<T extends EventType>(input: {
  type: T;
  orderId: string;
  producer: EventEnvelope["producer"];
  data: PayloadOf<T>;
  traceparent?: string | undefined;
  tracestate?: string | undefined;
}): EventOf<T> {
  const event = {
    id: nextId(),
    type: input.type,
    orderId: input.orderId,
    occurredAt: new Date().toISOString(),
    producer: input.producer,
    version: ENVELOPE_VERSION,
    data: input.data,
    ...(input.traceparent ? { traceparent: input.traceparent } : {}),
    ...(input.tracestate ? { tracestate: input.tracestate } : {}),
  };
  return event as unknown as EventOf<T>;
}

/** Flattens an event into stream-entry fields (`XADD key * f1 v1 f2 v2 …`). */
export function encodeEvent(event: EventEnvelope): string[] {
  const fields = [
    "id",
    event.id,
    "type",
    event.type,
    "orderId",
    event.orderId,
    "occurredAt",
    event.occurredAt,
    "producer",
    event.producer,
    "version",
    event.version,
    "data",
    JSON.stringify(event.data),
  ];
  if (event.traceparent) fields.push("traceparent", event.traceparent);
  if (event.tracestate) fields.push("tracestate", event.tracestate);
  if (event.baggage) fields.push("baggage", event.baggage);
  return fields;
}

/** Turns a flat `[field, value, …]` reply into a record; a repeated field keeps its first value. */
export function fieldsToRecord(flat: readonly string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const key = flat[i] as string;
    if (!(key in record)) record[key] = flat[i + 1] as string;
  }
  return record;
}

/** Validates stream-entry fields as an event. Never throws: a bad entry yields its reason. */
export function decodeEvent(fields: Readonly<Record<string, string>>): DecodeResult {
  const { type, data } = fields;
  if (type === undefined || !(EVENT_TYPES as readonly string[]).includes(type)) {
    return { ok: false, reason: `unknown event type ${JSON.stringify(type ?? null)}` };
  }
  if (data === undefined) return { ok: false, reason: "missing field data" };
  let payload: unknown;
  try {
    payload = JSON.parse(data);
  } catch {
    return { ok: false, reason: "field data is not valid JSON" };
  }
  const parsed = EventEnvelope.safeParse({ ...fields, data: payload });
  if (!parsed.success) {
    return { ok: false, reason: `invalid ${type} event: ${z.prettifyError(parsed.error)}` };
  }
  return { ok: true, event: parsed.data };
}
