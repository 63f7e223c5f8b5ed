import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { isEventStream } from "./sse-output-limit.ts";

type Write = ServerResponse["write"];

/** Sockets of event streams corked during this turn of the event loop, by response. */
const corked = new Map<ServerResponse, Socket>();

function uncorkAll(): void {
  // A response that ended meanwhile has uncorked its socket fully already; one more uncork is a
  // no-op, or flushes early what the socket's next response wrote in this turn.
  for (const socket of corked.values()) socket.uncork();
  corked.clear();
}

/**
 * Makes an event stream (`text/event-stream`) send what it is written during one turn of the
 * event loop in one socket write.
 *
 * Node corks a response's socket only until the next tick, and a subscription produces each
 * event in ticks of its own (promise and stream steps), so every frame cost one `writev` per
 * subscriber. When the event hub hands out a feed read of several events, each subscriber's
 * frames are all written in the same turn: with the socket corked until the turn ends
 * (`setImmediate`), they share one write. Frames wait for the end of that turn at most.
 *
 * The socket is corked, not the response: a corked response buffers chunks that `end()` would
 * send after the response's last chunk, where the client never reads them.
 */
export function batchEventStreamWrites(response: ServerResponse): void {
  const write = response.write;
  const batchedWrite = function (this: ServerResponse, ...args: Parameters<Write>) {
    const socket = response.socket;
    if (socket && !corked.has(response) && isEventStream(response)) {
      if (corked.size === 0) setImmediate(uncorkAll);
      corked.set(response, socket);
      socket.cork();
    }
    return Reflect.apply(write, this, args) as boolean;
  };
  response.write = batchedWrite as Write;
}
