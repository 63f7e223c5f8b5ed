import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { isEventStream } from "./sse-output-limit.ts";

type Write = ServerResponse["write"];

/** An event stream's socket while it is corked for the rest of this turn of the event loop. */
interface CorkedWrites {
  socket: Socket | undefined;
}

/**
 * The responses corked during this turn, in `corked[0 … corkedCount)`. A reused array, not a
 * Map cleared every turn: at a thousand subscribers, the Map's tables made per turn were most
 * of the memory the fan-out promoted to the old generation.
 */
const corked: Array<CorkedWrites | undefined> = [];
let corkedCount = 0;

function uncorkAll(): void {
  // A response that ended meanwhile has uncorked its socket fully already; one more uncork is a
  // no-op, or flushes early what the socket's next response wrote in this turn.
  for (let index = 0; index < corkedCount; index += 1) {
    const writes = corked[index] as CorkedWrites;
    corked[index] = undefined;
    const socket = writes.socket;
    writes.socket = undefined;
    socket?.uncork();
  }
  corkedCount = 0;
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
  const writes: CorkedWrites = { socket: undefined };
  const batchedWrite = function (this: ServerResponse, ...args: Parameters<Write>) {
    const socket = response.socket;
    if (socket && writes.socket === undefined && isEventStream(response)) {
      if (corkedCount === 0) setImmediate(uncorkAll);
      writes.socket = socket;
      corked[corkedCount] = writes;
      corkedCount += 1;
      socket.cork();
    }
    return Reflect.apply(write, this, args) as boolean;
  };
  response.write = batchedWrite as Write;
}
