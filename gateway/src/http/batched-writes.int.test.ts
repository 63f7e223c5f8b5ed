import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it, onTestFinished } from "vitest";
import { batchEventStreamWrites } from "./batched-writes.ts";

/** Serves one response with `respond`, counting the socket writes it made; resolves the body. */
async function serve(
  contentType: string,
  respond: (response: ServerResponse) => void,
): Promise<{ body: string; socketWrites: number }> {
  let socketWrites = 0;
  const server = createServer((_request, response) => {
    const socket = response.socket as unknown as Record<string, (...args: unknown[]) => unknown>;
    for (const method of ["_write", "_writev"]) {
      const original = socket[method] as (...args: unknown[]) => unknown;
      socket[method] = function (this: unknown, ...args: unknown[]) {
        socketWrites += 1;
        return original.apply(this, args);
      };
    }
    batchEventStreamWrites(response);
    response.setHeader("content-type", contentType);
    response.writeHead(200);
    response.flushHeaders();
    // The headers go out in a turn of their own; the frames come later, all in one turn.
    setTimeout(() => respond(response), 20);
  });
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const body = await (await fetch(`http://127.0.0.1:${port}/`)).text();
  return { body, socketWrites };
}

/** Writes frames one per tick, as a subscription's promise and stream steps do, then ends. */
function writeFramesAcrossTicks(response: ServerResponse, count: number): void {
  let written = 0;
  const next = () => {
    if (written === count) {
      response.end();
      return;
    }
    response.write(`data: ${written}\n\n`);
    written += 1;
    process.nextTick(() => Promise.resolve().then(next));
  };
  next();
}

describe("batchEventStreamWrites", () => {
  it("sends the frames an event stream is written in one turn in one socket write", async () => {
    const frames = 20;
    const { body, socketWrites } = await serve("text/event-stream", (response) =>
      writeFramesAcrossTicks(response, frames),
    );
    expect(body).toBe(Array.from({ length: frames }, (_, index) => `data: ${index}\n\n`).join(""));
    // The headers, then the frames and the end of the response together.
    expect(socketWrites).toBeLessThanOrEqual(2);
  });

  it("delivers every frame and the end when the stream ends in the same turn", async () => {
    const { body } = await serve("text/event-stream", (response) => {
      response.write("event: next\ndata: 1\n\n");
      void Promise.resolve()
        .then(() => response.write("event: complete\n\n"))
        .then(() => response.end());
    });
    expect(body).toBe("event: next\ndata: 1\n\nevent: complete\n\n");
  });

  it("leaves other responses to Node's own write per tick", async () => {
    const frames = 5;
    const { body, socketWrites } = await serve("text/plain", (response) =>
      writeFramesAcrossTicks(response, frames),
    );
    expect(body).toBe(Array.from({ length: frames }, (_, index) => `data: ${index}\n\n`).join(""));
    expect(socketWrites).toBeGreaterThan(frames);
  });
});
