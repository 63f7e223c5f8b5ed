import type { ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { whenOutputFits } from "../http/sse-output-limit.ts";

/** A comment line: keeps idle connections (and proxies) from timing out. */
const PING = Buffer.from(":\n\n");

/** The response headers of an event stream, for Yoga's SSE and both graphql-sse modes. */
export const EVENT_STREAM_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  connection: "keep-alive",
  "content-encoding": "none",
} as const;

/** One connection's `text/event-stream` response, written frame by frame. */
export interface EventStream {
  /** The response to hand to Yoga: its body is this stream. */
  readonly response: Response;
  /** Writes chunks as they are: frames rendered once are shared, never copied. */
  write(...chunks: readonly Buffer[]): void;
  /** Whether the connection's output is within its bound (see `boundEventStream`). */
  isReady(): boolean;
  /** Resolves once the output drained below its bound, or the connection closed. */
  whenReady(): Promise<void>;
  /** Ends the response. Idempotent. */
  end(): void;
  /** Runs once when the stream ends or its client goes away. */
  onClose(listener: () => void): void;
  readonly isClosed: boolean;
}

/** Options of {@link createEventStream}. */
export interface EventStreamOptions {
  /** Yoga's fetch API (its Response takes a Node stream as the body). */
  fetchAPI: { Response: typeof Response };
  /** The Node response it is piped to, whose buffered output bounds the stream. */
  response: ServerResponse | undefined;
  /** How often an idle stream sends a comment line. Default 12 s, as Yoga and graphql-sse. */
  pingIntervalMs?: number;
}

/**
 * An event stream whose frames go straight to the socket: the body is a Node `Readable` that
 * Yoga's server adapter pipes into the response, so a write is one `push` and one socket write
 * (corked per turn of the event loop, see `batchEventStreamWrites`), with no per-subscriber
 * promise, string or encoding step. The stream opens with a comment line, because some browsers
 * wait for a first chunk before they report the response.
 */
export function createEventStream(options: EventStreamOptions): EventStream {
  const { response: output } = options;
  const closeListeners: Array<() => void> = [];
  let isClosed = false;
  const body = new Readable({ read() {} });
  const ping = setInterval(() => {
    if (body.readableLength === 0) body.push(PING);
  }, options.pingIntervalMs ?? 12_000);
  ping.unref();
  const closed = () => {
    if (isClosed) return;
    isClosed = true;
    clearInterval(ping);
    for (const listener of closeListeners.splice(0)) listener();
  };
  // Destroyed by the adapter when the client goes away, or ended by us.
  body.once("close", closed);
  body.once("end", closed);
  body.push(PING);

  function isReady(): boolean {
    return isClosed || whenOutputFits(output) === undefined;
  }

  /**
   * Node emits `drain` only after a write that reported backpressure, which a bound below the
   * socket's high-water mark never sees: then the output is looked at again every few ms.
   */
  function whenReady(): Promise<void> {
    const drained = isClosed ? undefined : whenOutputFits(output);
    if (!drained) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const look = () => {
        if (isReady()) done();
        else timer = setTimeout(look, 10);
      };
      void drained.then(done);
      timer = setTimeout(look, 10);
    });
  }

  return {
    response: new options.fetchAPI.Response(body as unknown as BodyInit, {
      status: 200,
      headers: EVENT_STREAM_HEADERS,
    }),
    get isClosed() {
      return isClosed;
    },
    write(...chunks) {
      if (isClosed) return;
      for (const chunk of chunks) body.push(chunk);
    },
    isReady,
    whenReady,
    end() {
      if (isClosed) return;
      body.push(null);
      closed();
    },
    onClose(listener) {
      if (isClosed) listener();
      else closeListeners.push(listener);
    },
  };
}
