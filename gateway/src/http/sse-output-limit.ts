import type { ServerResponse } from "node:http";

type Write = ServerResponse["write"];

/** Options of {@link limitEventStreamOutput}. */
export interface EventStreamOutputLimit {
  /** Bytes written but not yet taken by the client (Node's buffers) past which it is cut. */
  maxBufferedBytes: number;
  /** Called once when the connection is cut, before it is destroyed. */
  onExceeded(bufferedBytes: number): void;
}

/**
 * Bounds what an event-stream response may hold for a client that stopped reading.
 *
 * graphql-sse takes every result of a subscription as soon as it is produced and queues it in
 * memory until the response stream wants it, so a client that stops reading its socket makes
 * that queue grow without bound, out of sight of the per-subscriber buffer. Here, once the
 * response turns out to be `text/event-stream`, writes stop reporting backpressure: the queue
 * is then drained into Node's own buffers at once, where its size is known
 * (`writableLength`: the response's and the socket's), and a response whose buffered output
 * passes the limit is destroyed. Its client reconnects and resumes with `after` = the last
 * cursor it saw. Other responses keep Node's ordinary backpressure.
 */
export function limitEventStreamOutput(
  response: ServerResponse,
  limit: EventStreamOutputLimit,
): void {
  const write = response.write;
  let isCut = false;
  const limitedWrite = function (this: ServerResponse, ...args: Parameters<Write>) {
    const isEventStream = String(response.getHeader("content-type") ?? "").startsWith(
      "text/event-stream",
    );
    if (!isEventStream) return Reflect.apply(write, this, args) as boolean;
    // Once cut, chunks are dropped but still accepted, so that whoever writes drains its
    // stream to its end (the subscription ends when the request's signal aborts).
    if (isCut) return true;
    Reflect.apply(write, this, args);
    const buffered = response.writableLength;
    if (buffered > limit.maxBufferedBytes) {
      isCut = true;
      limit.onExceeded(buffered);
      response.destroy();
    }
    return true;
  };
  response.write = limitedWrite as Write;
}
