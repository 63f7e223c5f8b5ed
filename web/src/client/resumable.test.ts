import type { ExecutionResult, Sink, Client as SseClient } from "graphql-sse";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createConnectionMonitor } from "./connection.ts";
import { createResumableSubscriptions, cursorOf, declaresAfter } from "./resumable.ts";

interface FakeStream {
  payload: { query: string; variables: Record<string, unknown> };
  /** The variables as sent when the stream (re)connected: graphql-sse serialises each time. */
  sentVariables: Array<Record<string, unknown>>;
  sink: Sink<ExecutionResult>;
  on: {
    connecting?: (isReconnecting: boolean) => void;
    connected?: (isReconnected: boolean) => void;
  };
  isDisposed: boolean;
}

/** A graphql-sse client double: records each subscribe and lets the test drive it. */
function fakeSse() {
  const streams: FakeStream[] = [];
  const sse = {
    subscribe(payload, sink, on) {
      const stream: FakeStream = {
        payload: payload as FakeStream["payload"],
        sentVariables: [structuredClone(payload.variables ?? {})],
        sink: sink as Sink<ExecutionResult>,
        on: on ?? {},
        isDisposed: false,
      };
      streams.push(stream);
      stream.on.connecting?.(false);
      stream.on.connected?.(false);
      return () => {
        stream.isDisposed = true;
      };
    },
  } as Pick<SseClient, "subscribe"> as SseClient;
  return { sse, streams };
}

/** A request as urql's subscription exchange forwards it. */
const request = (query: string, variables: Record<string, unknown>) => ({
  query,
  variables,
  operationName: undefined,
  extensions: undefined,
});

/** A result with GraphQL errors, as the gateway sends them (plain JSON). */
const failure = (message: string, code?: string) =>
  ({
    errors: [{ message, ...(code ? { extensions: { code } } : {}) }],
  }) as unknown as ExecutionResult;

const EVENTS = "subscription Events($after: String) { events(after: $after) { cursor } }";
const eventResult = (cursor: string): ExecutionResult => ({ data: { events: { cursor } } });

function setUp() {
  const { sse, streams } = fakeSse();
  const monitor = createConnectionMonitor();
  const forward = createResumableSubscriptions({ sse, monitor, resubscribeDelayMs: () => 10 });
  const received: unknown[] = [];
  const sink = {
    next: (value: unknown) => received.push(value),
    error: vi.fn(),
    complete: vi.fn(),
  };
  return { streams, monitor, forward, received, sink };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("resumable subscriptions", () => {
  it("moves `after` to each event's cursor, so a retry asks for what follows the last one seen", () => {
    const { streams, forward, sink, received } = setUp();
    forward(request(EVENTS, {})).subscribe(sink);
    const stream = streams[0] as FakeStream;
    stream.sink.next(eventResult("5-0"));
    stream.sink.next(eventResult("6-0"));
    expect(received).toHaveLength(2);
    // graphql-sse serialises this same payload on its next retry.
    expect(stream.payload.variables.after).toBe("6-0");
  });

  it("subscribes again after the last cursor when the server ends the stream", async () => {
    vi.useFakeTimers();
    const { streams, monitor, forward, sink } = setUp();
    forward(request(EVENTS, { after: "1-0" })).subscribe(sink);
    const first = streams[0] as FakeStream;
    first.sink.next(eventResult("2-0"));
    first.sink.complete();
    expect(monitor.getState()).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(10);
    expect(streams).toHaveLength(2);
    expect(streams[1]?.sentVariables[0]).toEqual({ after: "2-0" });
    expect(sink.complete).not.toHaveBeenCalled();
    expect(monitor.getState()).toBe("online");
  });

  it("resumes a subscriber the gateway closed as too slow, without passing the error on", async () => {
    vi.useFakeTimers();
    const { streams, forward, sink, received } = setUp();
    forward(request(EVENTS, {})).subscribe(sink);
    const first = streams[0] as FakeStream;
    first.sink.next(eventResult("7-0"));
    first.sink.next(failure("slow", "SLOW_SUBSCRIBER"));
    await vi.advanceTimersByTimeAsync(10);
    expect(first.isDisposed).toBe(true);
    expect(streams[1]?.sentVariables[0]).toEqual({ after: "7-0" });
    expect(received).toHaveLength(1);
  });

  it("comes back with its cursor, as often as needed, while the gateway says Redis is unavailable", async () => {
    vi.useFakeTimers();
    const { streams, forward, sink, received, monitor } = setUp();
    forward(request(EVENTS, {})).subscribe(sink);
    streams[0]?.sink.next(eventResult("4-0"));
    streams[0]?.sink.next(failure("unreachable", "UNAVAILABLE"));
    expect(monitor.getState()).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(10);
    streams[1]?.sink.next(failure("unreachable", "UNAVAILABLE"));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(streams.length).toBeGreaterThanOrEqual(3);
    for (const stream of streams.slice(1))
      expect(stream.sentVariables[0]).toEqual({ after: "4-0" });
    expect(received).toHaveLength(1);
    expect(sink.error).not.toHaveBeenCalled();
  });

  it("goes on live when the feed no longer holds the events after its cursor", async () => {
    vi.useFakeTimers();
    const { streams, forward, sink, received } = setUp();
    forward(request(EVENTS, { after: "1-0" })).subscribe(sink);
    streams[0]?.sink.next(failure("gone", "CURSOR_EXPIRED"));
    await vi.advanceTimersByTimeAsync(10);
    expect(streams[1]?.sentVariables[0]).toEqual({});
    expect(received).toHaveLength(0);
  });

  it("passes other GraphQL errors on and then completes", () => {
    const { streams, forward, sink, received } = setUp();
    forward(request(EVENTS, { after: "bad" })).subscribe(sink);
    const stream = streams[0] as FakeStream;
    stream.sink.next(failure("after must be a cursor"));
    stream.sink.complete();
    expect(received).toHaveLength(1);
    expect(sink.complete).toHaveBeenCalledOnce();
    expect(streams).toHaveLength(1);
  });

  it("does not come back when its token expired (UNAUTHENTICATED), and tells the page", async () => {
    vi.useFakeTimers();
    const { sse, streams } = fakeSse();
    const onUnauthenticated = vi.fn();
    const forward = createResumableSubscriptions({
      sse,
      monitor: createConnectionMonitor(),
      resubscribeDelayMs: () => 10,
      onUnauthenticated,
    });
    const sink = { next: vi.fn(), error: vi.fn(), complete: vi.fn() };
    forward(request(EVENTS, {})).subscribe(sink);
    const stream = streams[0] as FakeStream;
    stream.sink.next(eventResult("3-0"));
    stream.sink.next(failure("The token has expired", "UNAUTHENTICATED"));
    stream.sink.complete();
    await vi.advanceTimersByTimeAsync(100);
    expect(onUnauthenticated).toHaveBeenCalledOnce();
    expect(sink.complete).toHaveBeenCalledOnce();
    expect(streams).toHaveLength(1);
  });

  it("does not touch the variables of a subscription without $after", () => {
    const { streams, forward, sink } = setUp();
    forward(request("subscription { events { cursor } }", {})).subscribe(sink);
    streams[0]?.sink.next(eventResult("3-0"));
    expect(streams[0]?.payload.variables).toEqual({});
  });

  it("stops for good on unsubscribe, even while waiting to resubscribe", async () => {
    vi.useFakeTimers();
    const { streams, monitor, forward, sink } = setUp();
    const subscription = forward(request(EVENTS, {})).subscribe(sink);
    streams[0]?.sink.complete();
    subscription.unsubscribe();
    await vi.advanceTimersByTimeAsync(1000);
    expect(streams).toHaveLength(1);
    expect(monitor.getState()).toBe("online");
  });
});

describe("helpers", () => {
  it("finds the $after variable and the result's cursor", () => {
    expect(declaresAfter(EVENTS)).toBe(true);
    expect(declaresAfter("subscription { events { cursor } }")).toBe(false);
    expect(cursorOf({ data: { orderEvents: { cursor: "9-1", type: "x" } } })).toBe("9-1");
    expect(cursorOf({ data: null })).toBeUndefined();
  });
});
