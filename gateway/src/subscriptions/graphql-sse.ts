import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { Logger } from "@conveyor/runtime";
import type { DocumentNode, ExecutionResult, GraphQLError } from "graphql";
import { getOperationAST } from "graphql";
import { TOKEN_HEADER_KEY, TOKEN_QUERY_KEY } from "graphql-sse";
import { createGraphQLError, type Plugin, type YogaServer } from "graphql-yoga";
import { createEventStream, type EventStream } from "./event-stream.ts";
import { COMPLETE, frameOf, operationFrames } from "./frames.ts";
import type { PreparedSubscription } from "./multiplexer.ts";

/** Options of {@link useGraphQLSse}. */
export interface GraphQLSseOptions {
  /** Where the graphql-sse protocol is served, e.g. `/graphql/stream`. */
  endpoint: string;
  logger: Logger;
  /** The subscriptions Yoga's subscribe step prepared (see `useMultiplexedSubscriptions`). */
  takePrepared(request: Request): PreparedSubscription | undefined;
  /** How long a reserved single-connection stream may wait for its connection. Default 30 s. */
  reservationTimeoutMs?: number;
}

/** The parameters of one GraphQL operation, as graphql-sse sends them. */
interface OperationParams {
  query: string;
  operationName?: string | undefined;
  variables?: Record<string, unknown> | undefined;
  extensions?: Record<string, unknown> | undefined;
}

/** What running an operation gave: one result, or a subscription to attach to a stream. */
type Outcome = { result: ExecutionResult } | { subscription: PreparedSubscription };

/** A reserved stream of "single connection mode": its operations, and its connection once open. */
interface Reservation {
  token: string;
  stream: EventStream | undefined;
  /** Operations by id: attached (a close function) or still waiting for the connection. */
  operations: Map<string, { close(): void } | { pending: Outcome }>;
  expiry: NodeJS.Timeout;
}

/** The part of Yoga's fetch API these answers are made with. */
type FetchAPI = { Response: typeof Response };

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };

/** What an unexpected failure of the handler answers: no message, no stack. */
const UNEXPECTED = JSON.stringify({
  errors: [{ message: "Unexpected error.", extensions: { code: "INTERNAL_SERVER_ERROR" } }],
});

/**
 * The graphql-sse protocol (github.com/enisdenjo/graphql-sse, PROTOCOL.md), both modes:
 * "distinct connections" (one event stream per operation) and "single connection" (PUT
 * reserves a stream, an event-stream request opens it, operations are POSTed to it with an
 * `operationId` and stopped with DELETE). Every operation goes through Yoga's whole plugin chain
 * (parsing, validation and query limits, context, masking); subscriptions are attached to the
 * multiplexer's shared frames, where graphql-sse's own handler would execute, stringify and
 * encode every event once per subscriber. A document that does not parse or validate is answered
 * as a result carrying its coded errors, in the stream.
 */
export function useGraphQLSse(options: GraphQLSseOptions): Plugin {
  const { endpoint, logger, takePrepared } = options;
  const reservationTimeoutMs = options.reservationTimeoutMs ?? 30_000;
  const reservations = new Map<string, Reservation>();
  // biome-ignore lint/suspicious/noExplicitAny: Yoga's instance is generic over its contexts.
  let yoga: YogaServer<any, any> | undefined;

  function answer(fetchAPI: FetchAPI, status: number, body: unknown = null) {
    return new fetchAPI.Response(body === null ? null : JSON.stringify(body), {
      status,
      headers: body === null ? {} : JSON_HEADERS,
    });
  }

  function protocolError(fetchAPI: FetchAPI, status: number, message: string) {
    return answer(fetchAPI, status, { errors: [{ message }] });
  }

  async function run(
    request: Request,
    params: OperationParams,
    serverContext: object,
  ): Promise<Outcome> {
    const enveloped = (yoga as NonNullable<typeof yoga>).getEnveloped({
      ...serverContext,
      request,
      params,
    });
    let document: DocumentNode;
    try {
      document = enveloped.parse(params.query);
    } catch (error) {
      // Parse errors (syntax, token limit) are GraphQL errors with a code: the client's fault.
      if (isGraphQLError(error)) return { result: refused([error]) };
      throw error;
    }
    const errors = enveloped.validate(enveloped.schema, document) as readonly GraphQLError[];
    if (errors.length > 0) return { result: refused(errors) };
    const contextValue = await enveloped.contextFactory();
    const args = {
      schema: enveloped.schema,
      document,
      contextValue,
      variableValues: params.variables,
      operationName: params.operationName,
    };
    const operation = getOperationAST(document, params.operationName);
    if (operation?.operation !== "subscription") {
      return { result: (await enveloped.execute(args)) as ExecutionResult };
    }
    const result = await enveloped.subscribe(args);
    const subscription = takePrepared(request);
    return subscription ? { subscription } : { result: result as ExecutionResult };
  }

  function deliverOne(stream: EventStream, result: ExecutionResult, operationId?: string) {
    const frame = frameOf(result);
    if (operationId === undefined) {
      stream.write(frame.sse, COMPLETE);
      stream.end();
      return;
    }
    const framing = operationFrames(operationId);
    stream.write(framing.nextPrefix, frame.json, framing.nextSuffix, framing.complete);
  }

  function startOperation(reservation: Reservation, operationId: string, outcome: Outcome): void {
    const stream = reservation.stream;
    if (!stream) {
      reservation.operations.set(operationId, { pending: outcome });
      return;
    }
    if ("result" in outcome) {
      deliverOne(stream, outcome.result, operationId);
      reservation.operations.delete(operationId);
      return;
    }
    const attached = outcome.subscription.attach({
      stream,
      operationId,
      onEnd: () => {
        if (reservation.operations.get(operationId) === attached) {
          reservation.operations.delete(operationId);
        }
      },
    });
    reservation.operations.set(operationId, attached);
  }

  function openReservation(reservation: Reservation, stream: EventStream): void {
    clearTimeout(reservation.expiry);
    reservation.stream = stream;
    stream.onClose(() => {
      if (reservations.get(reservation.token) === reservation)
        reservations.delete(reservation.token);
    });
    for (const [operationId, operation] of [...reservation.operations]) {
      if ("pending" in operation) startOperation(reservation, operationId, operation.pending);
    }
  }

  async function handle(
    request: Request,
    url: URL,
    serverContext: object,
    fetchAPI: FetchAPI,
  ): Promise<Response> {
    const token = request.headers.get(TOKEN_HEADER_KEY) ?? url.searchParams.get(TOKEN_QUERY_KEY);
    const reservation = token ? reservations.get(token) : undefined;
    const accept = request.headers.get("accept") ?? "*/*";
    const response = (serverContext as { res?: ServerResponse }).res;

    if (accept.includes("text/event-stream")) {
      if (reservation) {
        if (reservation.stream) return protocolError(fetchAPI, 409, "Stream already open");
        const stream = createEventStream({ fetchAPI, response });
        openReservation(reservation, stream);
        return stream.response;
      }
      const params = await paramsOf(request, url);
      if (typeof params === "string") return protocolError(fetchAPI, 400, params);
      const outcome = await run(request, params, serverContext);
      const stream = createEventStream({ fetchAPI, response });
      if ("result" in outcome) deliverOne(stream, outcome.result);
      else outcome.subscription.attach({ stream });
      return stream.response;
    }

    if (request.method === "PUT") {
      if (!["*/*", "text/plain"].includes(accept)) return answer(fetchAPI, 406);
      const reserved = token ?? randomUUID();
      if (reservations.has(reserved)) {
        return protocolError(fetchAPI, 409, "Stream already registered");
      }
      const expiry = setTimeout(() => {
        const stale = reservations.get(reserved);
        if (stale && !stale.stream) reservations.delete(reserved);
      }, reservationTimeoutMs);
      expiry.unref();
      reservations.set(reserved, {
        token: reserved,
        stream: undefined,
        operations: new Map(),
        expiry,
      });
      return new fetchAPI.Response(reserved, {
        status: 201,
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
    }
    if (!reservation) return protocolError(fetchAPI, 404, "Stream not found");

    if (request.method === "DELETE") {
      const operationId = url.searchParams.get("operationId");
      if (!operationId) return protocolError(fetchAPI, 400, "Operation ID is missing");
      const operation = reservation.operations.get(operationId);
      reservation.operations.delete(operationId);
      if (operation && "close" in operation) operation.close();
      return answer(fetchAPI, 200);
    }
    if (request.method !== "POST") {
      return new fetchAPI.Response(null, {
        status: 405,
        headers: { allow: "GET, POST, PUT, DELETE" },
      });
    }
    if (!["*/*", "application/*", "application/json"].includes(accept)) {
      return answer(fetchAPI, 406);
    }
    const params = await paramsOf(request, url);
    if (typeof params === "string") return protocolError(fetchAPI, 400, params);
    const operationId = String(params.extensions?.operationId ?? "");
    if (!operationId) return protocolError(fetchAPI, 400, "Operation ID is missing");
    if (reservation.operations.has(operationId)) {
      return protocolError(fetchAPI, 409, "Operation with ID already exists");
    }
    // Reserved before running, so a DELETE arriving meanwhile cancels it (answered 204).
    const placeholder = { close() {} };
    reservation.operations.set(operationId, placeholder);
    const outcome = await run(request, params, serverContext);
    // A prepared subscription holds nothing until it is attached: dropping it is enough.
    if (reservation.operations.get(operationId) !== placeholder) return answer(fetchAPI, 204);
    reservation.operations.delete(operationId);
    startOperation(reservation, operationId, outcome);
    return answer(fetchAPI, 202);
  }

  return {
    onYogaInit({ yoga: server }) {
      yoga = server;
    },
    // Not async: requests to other paths pass without a promise.
    onRequest({ request, url, endResponse, serverContext, fetchAPI }) {
      if (url.pathname !== endpoint || !yoga) return;
      return handle(request, url, serverContext, fetchAPI).then(endResponse, (error: unknown) => {
        logger.error({ err: error }, "graphql-sse request failed");
        endResponse(new fetchAPI.Response(UNEXPECTED, { status: 500, headers: JSON_HEADERS }));
      });
    },
  };
}

/** The operation in a request (GET: the query string, POST: a JSON body), or why there is none. */
async function paramsOf(request: Request, url: URL): Promise<OperationParams | string> {
  let raw: Record<string, unknown>;
  if (request.method === "GET") {
    try {
      const json = (name: string) => {
        const value = url.searchParams.get(name);
        return value ? JSON.parse(value) : undefined;
      };
      raw = {
        query: url.searchParams.get("query") ?? undefined,
        operationName: url.searchParams.get("operationName") ?? undefined,
        variables: json("variables"),
        extensions: json("extensions"),
      };
    } catch {
      return "Unparsable URL";
    }
  } else if (request.headers.get("content-type")?.includes("application/json")) {
    try {
      const body = JSON.parse(await request.text()) as unknown;
      if (!isRecord(body)) return "JSON body must be an object";
      raw = body;
    } catch {
      return "Invalid JSON body";
    }
  } else {
    return "Expected a GET with the operation in the query string, or a POST with a JSON body";
  }
  if (raw.query == null) return "Missing query";
  if (typeof raw.query !== "string") return "Invalid query";
  if (raw.variables != null && !isRecord(raw.variables)) return "Invalid variables";
  if (raw.extensions != null && !isRecord(raw.extensions)) return "Invalid extensions";
  if (raw.operationName != null && typeof raw.operationName !== "string") {
    return "Invalid operationName";
  }
  return {
    query: raw.query,
    operationName: (raw.operationName as string | null | undefined) ?? undefined,
    variables: raw.variables as Record<string, unknown> | undefined,
    extensions: raw.extensions as Record<string, unknown> | undefined,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * A result graphql-sse recognises as one (it needs `data`), carrying only errors. Yoga's
 * `extensions.http` (a status for its own HTTP answers) is dropped from copies of them.
 */
function refused(errors: readonly GraphQLError[]): ExecutionResult {
  return {
    data: null,
    errors: errors.map((error) => {
      const { http: _http, ...extensions } = error.extensions ?? {};
      return createGraphQLError(error.message, {
        ...(error.nodes ? { nodes: error.nodes } : {}),
        ...(error.source ? { source: error.source } : {}),
        ...(error.positions ? { positions: error.positions } : {}),
        extensions,
      });
    }),
  };
}

function isGraphQLError(error: unknown): error is GraphQLError {
  return error instanceof Error && error.name === "GraphQLError";
}
