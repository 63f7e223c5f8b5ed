import { describe, expect, it } from "vitest";
import type { OrderEvent } from "../read-model/records.ts";
import { createSubscriptionStream, type StreamItem } from "./subscription-stream.ts";

function event(cursor: string): OrderEvent {
  return {
    id: `e${cursor}`,
    cursor,
    type: "order.created",
    orderId: "o1",
    service: "gateway",
    occurredAt: new Date(0).toISOString(),
    data: {},
    traceId: null,
  };
}

async function take(stream: AsyncIterator<StreamItem>, count: number): Promise<StreamItem[]> {
  const items: StreamItem[] = [];
  for (let i = 0; i < count; i += 1) {
    const result = await stream.next();
    if (result.done) break;
    items.push(result.value);
  }
  return items;
}

const cursorsOf = (items: StreamItem[]) =>
  items.map((item) => (item instanceof Error ? item.message : item.cursor));

describe("subscription stream", () => {
  it("delivers history, then live events, dropping the overlap at the seam", async () => {
    let push: (event: OrderEvent) => void = () => {};
    const stream = createSubscriptionStream({
      capacity: 10,
      overflowError: () => new Error("slow"),
      open(listener) {
        push = listener;
        // Live events that arrived while history was read; two of them are also in history.
        listener(event("2-0"));
        listener(event("3-0"));
        listener(event("4-0"));
        return { detach: () => {}, catchUp: [event("1-0"), event("2-0"), event("3-0")].values() };
      },
    });
    expect(cursorsOf(await take(stream, 4))).toEqual(["1-0", "2-0", "3-0", "4-0"]);
    push(event("5-0"));
    expect(cursorsOf(await take(stream, 1))).toEqual(["5-0"]);
  });

  it("starts after the given cursor", async () => {
    const stream = createSubscriptionStream({
      capacity: 10,
      after: "2-0",
      overflowError: () => new Error("slow"),
      open: () => ({
        detach: () => {},
        catchUp: [event("1-0"), event("2-0"), event("10-0")].values(),
      }),
    });
    expect(cursorsOf(await take(stream, 1))).toEqual(["10-0"]);
  });

  it("on overflow detaches at once and ends with one error naming the last delivered cursor", async () => {
    let push: (event: OrderEvent) => void = () => {};
    let detachCount = 0;
    const stream = createSubscriptionStream({
      capacity: 2,
      overflowError: (last) => new Error(`slow after ${last}`),
      open(listener) {
        push = listener;
        return {
          detach: () => {
            detachCount += 1;
          },
        };
      },
    });
    push(event("1-0"));
    expect(cursorsOf(await take(stream, 1))).toEqual(["1-0"]);
    push(event("2-0"));
    push(event("3-0"));
    push(event("4-0"));
    expect(detachCount).toBe(1);
    expect(cursorsOf(await take(stream, 5))).toEqual(["slow after 1-0"]);
    expect(await stream.next()).toEqual({ done: true, value: undefined });
  });

  it("ends a waiting next() at once on return() and detaches", async () => {
    let isDetached = false;
    const stream = createSubscriptionStream({
      capacity: 2,
      overflowError: () => new Error("slow"),
      open: () => ({
        detach: () => {
          isDetached = true;
        },
      }),
    });
    const waiting = stream.next();
    await stream.return?.();
    expect(await waiting).toEqual({ done: true, value: undefined });
    expect(isDetached).toBe(true);
  });

  it("ends with the error when opening fails", async () => {
    const stream = createSubscriptionStream({
      capacity: 2,
      overflowError: () => new Error("slow"),
      open: () => Promise.reject(new Error("redis is down")),
    });
    expect(cursorsOf(await take(stream, 3))).toEqual(["redis is down"]);
  });
  it("waits for the transport before each item; live events wait in the buffer and overflow", async () => {
    let push: (event: OrderEvent) => void = () => {};
    let isDetached = false;
    let letThrough: () => void = () => {};
    let isTransportReady = true;
    const stream = createSubscriptionStream({
      capacity: 2,
      overflowError: (last) => new Error(`slow after ${last}`),
      whenReady: () =>
        isTransportReady
          ? undefined
          : new Promise<void>((resolve) => {
              letThrough = resolve;
            }),
      open(listener) {
        push = listener;
        return { detach: () => (isDetached = true) };
      },
    });
    push(event("1-0"));
    expect(cursorsOf(await take(stream, 1))).toEqual(["1-0"]);

    isTransportReady = false;
    const waiting = stream.next();
    await new Promise((resolve) => setImmediate(resolve));
    push(event("2-0"));
    push(event("3-0"));
    expect(isDetached).toBe(false);
    push(event("4-0"));
    expect(isDetached).toBe(true);
    letThrough();
    expect(cursorsOf([(await waiting).value as StreamItem])).toEqual(["slow after 1-0"]);
    expect((await stream.next()).done).toBe(true);
  });
});
