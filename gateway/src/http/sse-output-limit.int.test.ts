import { connect } from "node:net";
import { collect, EVENT_FIELDS, sseClient, waitFor } from "@conveyor/testkit";
import { describe, expect, it, onTestFinished } from "vitest";
import { bigOrderCreated } from "../testing/events.ts";
import { appendToFeedAtOnce } from "../testing/feed.ts";
import { startTestGateway, type TestGateway } from "../testing/test-gateway.ts";

async function subscribersOf(test: TestGateway): Promise<number> {
  const response = await fetch(test.gateway.url.replace("/graphql", "/readyz"));
  return ((await response.json()) as { subscribers: number }).subscribers;
}

/** A raw graphql-sse client that stops reading once its stream has started. */
interface StalledClient {
  /** What it had read when it stopped, or in all once {@link StalledClient.readToEnd} ends. */
  readonly received: string;
  /** Reads again, and resolves once the server has closed the connection. */
  readToEnd(): Promise<void>;
}

/**
 * Opens a graphql-sse subscription over a raw socket, waits for the stream to start, then stops
 * reading: from then on the kernel's buffers fill and the server has to hold what it sends.
 */
async function subscribeAndStopReading(
  port: number,
  path = "/graphql/stream",
): Promise<StalledClient> {
  const body = JSON.stringify({ query: "subscription { events { id cursor data } }" });
  const socket = connect(port, "127.0.0.1");
  onTestFinished(() => {
    socket.destroy();
  });
  let received = "";
  let hasStarted = false;
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  socket.on("error", () => {});
  await new Promise<void>((resolve) => {
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("utf8");
      if (!hasStarted && received.includes("text/event-stream")) {
        hasStarted = true;
        socket.pause();
        resolve();
      }
    });
    socket.write(
      `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n` +
        `accept: text/event-stream\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  });
  return {
    get received() {
      return received;
    },
    async readToEnd() {
      socket.resume();
      await closed;
    },
  };
}

describe("event streams of clients that stop reading", () => {
  it.each([
    ["a buffer larger than all events: the cut detaches it", "100000"],
    ["a small buffer: it overflows first, then ends or is cut", "100"],
  ])("are cut once their output stalls past the limit; others go on (%s)", async (name, buffer) => {
    const test = await startTestGateway({
      SSE_MAX_BUFFERED_BYTES: String(256 * 1024),
      SSE_STALL_TIMEOUT_MS: "1000",
      SUBSCRIBER_BUFFER_SIZE: buffer,
    });
    const stalled = await subscribeAndStopReading(test.gateway.port);
    const healthy = collect(
      sseClient(test.gateway.streamUrl, false),
      `subscription { events { ${EVENT_FIELDS} } }`,
    );
    await waitFor("both subscribers", async () => (await subscribersOf(test)) === 2);

    // Bursts of 20 events of 10 kB (below either buffer), 15 MB in all: far more than the
    // kernel's socket buffers and the limit together, whenever the server lets the client go.
    let sentBytes = 0;
    for (let burst = 0; burst < 75; burst += 1) {
      const events = Array.from({ length: 20 }, () => bigOrderCreated());
      sentBytes += events.reduce((sum, event) => sum + JSON.stringify(event.data).length, 0);
      await appendToFeedAtOnce(test.redis, test.keys, events);
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    await waitFor("the stalled subscriber to be detached", async () =>
      (await subscribersOf(test)) === 1 ? true : undefined,
    );

    // The server let the connection go: reading again gets what the kernel held, then the end.
    await stalled.readToEnd();
    if (name.startsWith("a buffer larger")) {
      // Cut: far from all that was sent, and not the stream's own end (a `complete` event).
      expect(stalled.received).not.toContain("event: complete");
      expect(stalled.received.length).toBeLessThan(sentBytes / 2);
    } else if (stalled.received.includes("event: complete")) {
      // The kernel took the output meanwhile (its send buffer grows): the subscription ended
      // itself with SLOW_SUBSCRIBER, as on any transport, and the idle connection was closed.
      expect(stalled.received).toContain('"code":"SLOW_SUBSCRIBER"');
    }

    const appended = await test.redis.xlen(test.keys.partition(0).feed);
    await waitFor(`the healthy subscriber to get all ${appended} events`, () =>
      healthy.events.length === appended ? true : undefined,
    );
    expect(healthy.isDone).toBe(false);
    expect(new Set(healthy.events.map((event) => event.id)).size).toBe(appended);
    const ready = await fetch(test.gateway.url.replace("/graphql", "/readyz"));
    expect(ready.status).toBe(200);
  });

  it("a reading client of a big replay is never cut", async () => {
    const test = await startTestGateway({ SSE_MAX_BUFFERED_BYTES: String(256 * 1024) });
    const [first] = await appendToFeedAtOnce(test.redis, test.keys, [bigOrderCreated()]);
    for (let batch = 0; batch < 10; batch += 1) {
      await appendToFeedAtOnce(
        test.redis,
        test.keys,
        Array.from({ length: 50 }, () => bigOrderCreated()),
      );
    }
    const replay = collect(
      sseClient(test.gateway.streamUrl, true),
      `subscription Replay($after: String) { events(after: $after) { ${EVENT_FIELDS} data } }`,
      { after: first },
    );
    await waitFor("the replay of 500 events", () =>
      replay.events.length === 500 ? true : undefined,
    );
    expect(replay.isDone).toBe(false);
  });
  it("on Yoga's SSE at /graphql are bounded by the subscriber's buffer (it pulls at the socket's pace)", async () => {
    const test = await startTestGateway({ SUBSCRIBER_BUFFER_SIZE: "100" });
    await subscribeAndStopReading(test.gateway.port, "/graphql");
    const healthy = collect(
      sseClient(test.gateway.streamUrl, false),
      `subscription { events { ${EVENT_FIELDS} } }`,
    );
    await waitFor("both subscribers", async () => (await subscribersOf(test)) === 2);
    for (let burst = 0; burst < 75 && (await subscribersOf(test)) === 2; burst += 1) {
      await appendToFeedAtOnce(
        test.redis,
        test.keys,
        Array.from({ length: 20 }, () => bigOrderCreated()),
      );
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    await waitFor("the stalled subscriber to be detached", async () =>
      (await subscribersOf(test)) === 1 ? true : undefined,
    );
    const appended = await test.redis.xlen(test.keys.partition(0).feed);
    await waitFor(`the healthy subscriber to get all ${appended} events`, () =>
      healthy.events.length === appended ? true : undefined,
    );
  });
});
