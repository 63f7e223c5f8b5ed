import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import protobuf from "protobufjs";

/**
 * The part of OTLP's trace protocol (opentelemetry-proto, `collector/trace/v1` and `trace/v1`)
 * that the receiver reads, as a protobufjs descriptor: message and field names in the
 * camelCase of OTLP/JSON, so both encodings decode to the same shape. Field numbers are those
 * of the `.proto` files, as `@opentelemetry/otlp-transformer`'s serializer writes them (the
 * receiver's test round-trips that serializer's output); unknown fields are skipped.
 */
const OTLP_TRACE_PROTO = {
  nested: {
    ExportTraceServiceRequest: {
      fields: { resourceSpans: { rule: "repeated", type: "ResourceSpans", id: 1 } },
    },
    ResourceSpans: {
      fields: {
        resource: { type: "Resource", id: 1 },
        scopeSpans: { rule: "repeated", type: "ScopeSpans", id: 2 },
        schemaUrl: { type: "string", id: 3 },
      },
    },
    Resource: { fields: { attributes: { rule: "repeated", type: "KeyValue", id: 1 } } },
    ScopeSpans: {
      fields: {
        scope: { type: "InstrumentationScope", id: 1 },
        spans: { rule: "repeated", type: "Span", id: 2 },
        schemaUrl: { type: "string", id: 3 },
      },
    },
    InstrumentationScope: {
      fields: { name: { type: "string", id: 1 }, version: { type: "string", id: 2 } },
    },
    Span: {
      fields: {
        traceId: { type: "bytes", id: 1 },
        spanId: { type: "bytes", id: 2 },
        traceState: { type: "string", id: 3 },
        parentSpanId: { type: "bytes", id: 4 },
        name: { type: "string", id: 5 },
        kind: { type: "int32", id: 6 },
        startTimeUnixNano: { type: "fixed64", id: 7 },
        endTimeUnixNano: { type: "fixed64", id: 8 },
        attributes: { rule: "repeated", type: "KeyValue", id: 9 },
        events: { rule: "repeated", type: "Event", id: 11 },
        links: { rule: "repeated", type: "Link", id: 13 },
        status: { type: "Status", id: 15 },
        flags: { type: "fixed32", id: 16 },
      },
    },
    Event: {
      fields: {
        timeUnixNano: { type: "fixed64", id: 1 },
        name: { type: "string", id: 2 },
        attributes: { rule: "repeated", type: "KeyValue", id: 3 },
      },
    },
    Link: {
      fields: {
        traceId: { type: "bytes", id: 1 },
        spanId: { type: "bytes", id: 2 },
        traceState: { type: "string", id: 3 },
        attributes: { rule: "repeated", type: "KeyValue", id: 4 },
        flags: { type: "fixed32", id: 6 },
      },
    },
    Status: { fields: { message: { type: "string", id: 2 }, code: { type: "int32", id: 3 } } },
    KeyValue: { fields: { key: { type: "string", id: 1 }, value: { type: "AnyValue", id: 2 } } },
    AnyValue: {
      oneofs: {
        value: {
          oneof: [
            "stringValue",
            "boolValue",
            "intValue",
            "doubleValue",
            "arrayValue",
            "kvlistValue",
            "bytesValue",
          ],
        },
      },
      fields: {
        stringValue: { type: "string", id: 1 },
        boolValue: { type: "bool", id: 2 },
        intValue: { type: "int64", id: 3 },
        doubleValue: { type: "double", id: 4 },
        arrayValue: { type: "ArrayValue", id: 5 },
        kvlistValue: { type: "KeyValueList", id: 6 },
        bytesValue: { type: "bytes", id: 7 },
      },
    },
    ArrayValue: { fields: { values: { rule: "repeated", type: "AnyValue", id: 1 } } },
    KeyValueList: { fields: { values: { rule: "repeated", type: "KeyValue", id: 1 } } },
  },
};

const ExportTraceServiceRequest = protobuf.Root.fromJSON(OTLP_TRACE_PROTO).lookupType(
  "ExportTraceServiceRequest",
);

/**
 * Decodes an OTLP/HTTP binary protobuf trace export into the shape of its OTLP/JSON encoding:
 * ids as lowercase hex, 64-bit integers as decimal strings.
 */
export function decodeOtlpTraces(body: Uint8Array): OtlpTracesJson {
  const message = ExportTraceServiceRequest.decode(body);
  const object = ExportTraceServiceRequest.toObject(message, {
    longs: String,
    bytes: String,
    defaults: false,
  }) as OtlpTracesJson;
  const hex = (base64: string | undefined) =>
    base64 ? Buffer.from(base64, "base64").toString("hex") : undefined;
  for (const resourceSpans of object.resourceSpans ?? []) {
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      for (const span of scopeSpans.spans ?? []) {
        span.traceId = hex(span.traceId) ?? "";
        span.spanId = hex(span.spanId) ?? "";
        span.parentSpanId = hex(span.parentSpanId);
        for (const link of span.links ?? []) {
          link.traceId = hex(link.traceId) ?? "";
          link.spanId = hex(link.spanId) ?? "";
        }
      }
    }
  }
  return object;
}

/** Reads a varint at `at`; returns its value and the offset after it. */
function readVarint(bytes: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  let offset = at;
  for (;;) {
    const byte = bytes[offset++];
    if (byte === undefined) throw new RangeError("truncated varint");
    // Lengths and tags fit in 32 bits; larger varints (times, ints) are only skipped.
    if (shift < 28) value |= (byte & 0x7f) << shift;
    else if (shift === 28) value += (byte & 0x0f) * 2 ** 28;
    if (byte < 0x80) return [value >>> 0, offset];
    shift += 7;
  }
}

/**
 * Calls `visit` with the start and end of every length-delimited field `field` of the message in
 * `bytes[start, end)`, skipping every other field by its wire type.
 */
function forEachLengthDelimited(
  bytes: Uint8Array,
  start: number,
  end: number,
  field: number,
  visit: (start: number, end: number) => void,
): void {
  let offset = start;
  while (offset < end) {
    const [tag, afterTag] = readVarint(bytes, offset);
    const wireType = tag & 7;
    offset = afterTag;
    if (wireType === 0) offset = readVarint(bytes, offset)[1];
    else if (wireType === 1) offset += 8;
    else if (wireType === 5) offset += 4;
    else if (wireType === 2) {
      const [length, afterLength] = readVarint(bytes, offset);
      offset = afterLength + length;
      if (offset > end) throw new RangeError("truncated field");
      if (tag >>> 3 === field) visit(afterLength, offset);
    } else throw new RangeError(`unsupported wire type ${wireType}`);
  }
}

/**
 * Counts the spans of an OTLP/HTTP binary protobuf trace export without decoding them: it walks
 * `resourceSpans` (field 1) → `scopeSpans` (2) → `spans` (2) and skips everything else, so it
 * costs a few varint reads per span where {@link decodeOtlpTraces} builds every span's objects.
 */
export function countOtlpSpans(body: Uint8Array): number {
  let count = 0;
  forEachLengthDelimited(body, 0, body.length, 1, (resourceStart, resourceEnd) =>
    forEachLengthDelimited(body, resourceStart, resourceEnd, 2, (scopeStart, scopeEnd) =>
      forEachLengthDelimited(body, scopeStart, scopeEnd, 2, () => {
        count += 1;
      }),
    ),
  );
  return count;
}

/** A link of a received span: the span context it points to. */
export interface ReceivedLink {
  traceId: string;
  spanId: string;
}

/** A span as received over OTLP/HTTP (protobuf or JSON encoding), flattened for assertions. */
export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  /** OTLP span kind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, string | number | boolean>;
  events: string[];
  links: ReceivedLink[];
  statusCode: number;
}

/** OTLP span kinds, by name. */
export const OtlpSpanKind = {
  INTERNAL: 1,
  SERVER: 2,
  CLIENT: 3,
  PRODUCER: 4,
  CONSUMER: 5,
} as const;

/** An in-process OTLP/HTTP receiver: what the processes under test export, kept for assertions. */
export interface OtlpReceiver {
  /** The endpoint to give as OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly endpoint: string;
  /** The spans received, decoded; always empty when the receiver only counts. */
  readonly spans: ReceivedSpan[];
  /** How many spans arrived so far, in either mode (emptying `spans` does not change it). */
  readonly spanCount: number;
  /** How many trace exports arrived in each encoding. */
  readonly traceExports: { protobuf: number; json: number };
  stop(): Promise<void>;
}

type AnyValue = {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
};
type KeyValue = { key: string; value: AnyValue };

/** An OTLP trace export in its JSON shape (the fields the receiver reads). */
export interface OtlpTracesJson {
  resourceSpans?: Array<{
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: Array<{
      spans?: Array<{
        traceId: string;
        spanId: string;
        parentSpanId?: string | undefined;
        name: string;
        kind: number;
        startTimeUnixNano: string;
        endTimeUnixNano: string;
        attributes?: KeyValue[];
        events?: Array<{ name: string }>;
        links?: Array<{ traceId: string; spanId: string }>;
        status?: { code?: number };
      }>;
    }>;
  }>;
}

function plainValue(value: AnyValue): string | number | boolean {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  return value.boolValue ?? "";
}

function attributesOf(list: KeyValue[] | undefined): Record<string, string | number | boolean> {
  return Object.fromEntries((list ?? []).map(({ key, value }) => [key, plainValue(value)]));
}

/** Options of {@link startOtlpReceiver}. */
export interface OtlpReceiverOptions {
  /**
   * Whether to decode every span into {@link OtlpReceiver.spans} (the default, for tests that
   * check traces). Off, the receiver stands for a collector running elsewhere: it accepts the
   * exports and only counts their spans ({@link countOtlpSpans}), so that a benchmark does not
   * charge the system under test for decoding what a real collector would decode on its own
   * machine.
   */
  isDecoding?: boolean;
}

/**
 * Starts a receiver on a free loopback port. Traces are read in either OTLP/HTTP encoding
 * (binary protobuf, the default of the exporters, or JSON); metrics and logs are accepted and
 * ignored.
 */
export async function startOtlpReceiver(options: OtlpReceiverOptions = {}): Promise<OtlpReceiver> {
  const isDecoding = options.isDecoding ?? true;
  const spans: ReceivedSpan[] = [];
  let spanCount = 0;
  const traceExports = { protobuf: 0, json: 0 };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const isProtobuf = request.headers["content-type"]?.startsWith("application/x-protobuf");
      if (request.url === "/v1/traces") {
        const raw = Buffer.concat(chunks);
        traceExports[isProtobuf ? "protobuf" : "json"] += 1;
        if (!isDecoding && isProtobuf) {
          spanCount += countOtlpSpans(raw);
          return respond(true);
        }
        const body: OtlpTracesJson = isProtobuf
          ? decodeOtlpTraces(raw)
          : JSON.parse(raw.toString("utf8"));
        for (const resourceSpans of body.resourceSpans ?? []) {
          const service = String(attributesOf(resourceSpans.resource?.attributes)["service.name"]);
          for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
            for (const span of scopeSpans.spans ?? []) {
              spanCount += 1;
              if (!isDecoding) continue;
              spans.push({
                service,
                traceId: span.traceId,
                spanId: span.spanId,
                parentSpanId: span.parentSpanId || undefined,
                name: span.name,
                kind: span.kind,
                startNs: BigInt(span.startTimeUnixNano),
                endNs: BigInt(span.endTimeUnixNano),
                attributes: attributesOf(span.attributes),
                events: (span.events ?? []).map((event) => event.name),
                links: (span.links ?? []).map(({ traceId, spanId }) => ({ traceId, spanId })),
                statusCode: span.status?.code ?? 0,
              });
            }
          }
        }
      }
      respond(isProtobuf === true);
    });
    /** An empty ExportServiceResponse: full success, in the request's encoding. */
    function respond(isProtobuf: boolean): void {
      if (isProtobuf) {
        response.writeHead(200, { "content-type": "application/x-protobuf" });
        response.end();
      } else {
        response.writeHead(200, { "content-type": "application/json" });
        response.end("{}");
      }
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    get spanCount() {
      return spanCount;
    },
    traceExports,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
