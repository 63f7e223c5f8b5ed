import type { ServerResponse } from "node:http";

type Write = ServerResponse["write"];

/** Options of {@link boundEventStream}. */
export interface EventStreamBounds {
  /** Output waiting for the client (Node's buffers) past which no further event is produced. */
  maxBufferedBytes: number;
  /** How long the output may stay past that without draining before the connection is cut. */
  stallTimeoutMs: number;
  /** Called once when the connection is cut, before it is destroyed. */
  onStalled(bufferedBytes: number): void;
}

/** Responses bounded by {@link boundEventStream}, with their limit. */
const bounded = new WeakMap<ServerResponse, number>();

/** Responses known to be event streams: their headers are sent, so it cannot change. */
const eventStreams = new WeakSet<ServerResponse>();

/** Whether a response is an event stream (SSE), by its content type. Asked on every write. */
export function isEventStream(response: ServerResponse): boolean {
  if (eventStreams.has(response)) return true;
  const isStream = String(response.getHeader("content-type") ?? "").startsWith("text/event-stream");
  if (isStream && response.headersSent) eventStreams.add(response);
  return isStream;
}

/**
 * Bounds what a graphql-sse event stream holds for a client that reads slowly or not at all.
 *
 * graphql-sse takes every result of a subscription as soon as it is produced and queues it in
 * its own memory until the response stream asks for it, so a client that stopped reading made
 * that queue grow without bound, out of sight of the per-subscriber buffer. Here, once the
 * response turns out to be `text/event-stream`:
 *
 * - writes stop reporting backpressure, so that queue is flushed into Node's buffers at once,
 *   where its size is known (`writableLength`: the response's and its socket's);
 * - the subscriptions of the response wait before producing their next event while that size is
 *   past `maxBufferedBytes` ({@link whenOutputFits}), so live events wait in the subscriber's
 *   bounded buffer, which ends a subscriber that falls too far behind with `SLOW_SUBSCRIBER`,
 *   and a replay goes at the pace of the client's reading;
 * - a response whose output stays past the limit for `stallTimeoutMs` without draining is
 *   destroyed (its client resumes with `after` = the last cursor it saw).
 *
 * Other responses keep Node's ordinary backpressure.
 */
export function boundEventStream(response: ServerResponse, bounds: EventStreamBounds): void {
  const write = response.write;
  let isCut = false;
  let stallTimer: NodeJS.Timeout | undefined;
  bounded.set(response, bounds.maxBufferedBytes);

  const cut = () => {
    if (isCut || response.destroyed) return;
    isCut = true;
    bounds.onStalled(response.writableLength);
    response.destroy();
  };
  const clearStall = () => {
    clearTimeout(stallTimer);
    stallTimer = undefined;
  };
  response.on("drain", clearStall);
  response.once("close", clearStall);

  const boundedWrite = function (this: ServerResponse, ...args: Parameters<Write>) {
    if (!isEventStream(response)) return Reflect.apply(write, this, args) as boolean;
    // Once cut, chunks are dropped but still accepted, so that whoever writes drains its
    // stream to its end (the subscriptions end when the request's signal aborts).
    if (isCut) return true;
    Reflect.apply(write, this, args);
    if (response.writableLength > bounds.maxBufferedBytes && !stallTimer) {
      stallTimer = setTimeout(cut, bounds.stallTimeoutMs);
      stallTimer.unref();
    }
    return true;
  };
  response.write = boundedWrite as Write;
}

/**
 * Nothing when `response` can take another event now: it is not a bounded event stream, or its
 * output is within its limit. Else a promise that resolves when it drains or closes.
 */
export function whenOutputFits(response: ServerResponse | undefined): Promise<void> | undefined {
  const limit = response ? bounded.get(response) : undefined;
  if (!response || limit === undefined) return undefined;
  if (response.writableLength <= limit || response.destroyed) return undefined;
  // One listener per response, however many of its subscriptions wait (single connection mode).
  let drained = waiting.get(response);
  if (!drained) {
    drained = new Promise<void>((resolve) => {
      const done = () => {
        response.off("drain", done);
        response.off("close", done);
        waiting.delete(response);
        resolve();
      };
      response.on("drain", done);
      response.on("close", done);
    });
    waiting.set(response, drained);
  }
  return drained;
}

/** What the subscriptions of a response wait on while its output is past the limit. */
const waiting = new WeakMap<ServerResponse, Promise<void>>();
