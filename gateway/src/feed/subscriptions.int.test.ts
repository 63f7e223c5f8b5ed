import {
  type Collector,
  collect,
  collectYogaSse,
  EVENT_FIELDS,
  publishEvent,
  type ReceivedEvent,
  sseClient,
  waitFor,
} from "@conveyor/testkit";
import { describe, expect, it } from "vitest";
import { bigOrderCreated, eventsOf, testOrderId } from "../testing/events.ts";
import { appendToFeedAtOnce } from "../testing/feed.ts";
import { startTestGateway, type TestGateway } from "../testing/test-gateway.ts";
import { compareCursors } from "./cursor.ts";

const ORDER_EVENTS = `subscription Watch($orderId: ID!, $after: String) {
  orderEvents(orderId: $orderId, after: $after) { ${EVENT_FIELDS} }
}`;
const EVENTS = `subscription Firehose($after: String) { events(after: $after) { ${EVENT_FIELDS} } }`;

const LIFE = ["order.created", "inventory.reserved", "payment.processed", "shipment.created"];

async function received(collector: Collector, count: number): Promise<ReceivedEvent[]> {
  return waitFor(`${count} events (have ${collector.events.length})`, () => {
    if (collector.results.some((result) => result.errors)) {
      throw new Error(`subscription failed: ${JSON.stringify(collector.results)}`);
    }
    return collector.events.length >= count ? collector.events : undefined;
  });
}

async function subscribersOf(test: TestGateway): Promise<number> {
  const response = await fetch(test.gateway.url.replace("/graphql", "/readyz"));
  return ((await response.json()) as { subscribers: number }).subscribers;
}

async function waitForSubscribers(test: TestGateway, count: number): Promise<void> {
  await waitFor(`${count} subscribers`, async () => (await subscribersOf(test)) >= count);
}

async function waitForHistory(test: TestGateway, orderId: string, length: number): Promise<void> {
  await waitFor(`history of ${orderId} to have ${length} events`, async () =>
    (await test.redis.llen(test.keys.orderEvents(orderId))) === length ? true : undefined,
  );
}

function expectInCursorOrder(events: readonly ReceivedEvent[]): void {
  for (let i = 1; i < events.length; i += 1) {
    expect(
      compareCursors((events[i] as ReceivedEvent).cursor, (events[i - 1] as ReceivedEvent).cursor),
    ).toBeGreaterThan(0);
  }
  expect(new Set(events.map((event) => event.id)).size).toBe(events.length);
}

describe.each([
  ["distinct connections", false],
  ["single connection", true],
])("subscriptions over graphql-sse (%s mode)", (_mode, singleConnection) => {
  it("orderEvents sends the history, then live events, with no gap or duplicate while the order moves on", async () => {
    const test = await startTestGateway();
    const client = sseClient(test.gateway.streamUrl, singleConnection);
    const orderIds = Array.from({ length: 12 }, testOrderId);
    for (const orderId of orderIds) {
      const events = eventsOf(orderId);
      await publishEvent(test.redis, test.keys, events.created());
      await publishEvent(test.redis, test.keys, events.reserved());
    }
    await Promise.all(orderIds.map((orderId) => waitForHistory(test, orderId, 2)));

    // Every subscription starts while its order moves on: the race the seam must survive.
    const collectors = await Promise.all(
      orderIds.map(async (orderId, index) => {
        const collector = collect(client, ORDER_EVENTS, { orderId });
        const events = eventsOf(orderId);
        if (index % 3 === 0) await waitForSubscribers(test, 1);
        await publishEvent(test.redis, test.keys, events.processed());
        await publishEvent(test.redis, test.keys, events.shipped());
        return collector;
      }),
    );
    for (const [index, collector] of collectors.entries()) {
      const events = await received(collector, 4);
      expect(events.map((event) => event.type)).toEqual(LIFE);
      expect(events.every((event) => event.orderId === orderIds[index])).toBe(true);
      expectInCursorOrder(events);
    }
    // The history read back matches what was streamed, cursor for cursor.
    const first = collectors[0]?.events ?? [];
    const history = await test.redis.lrange(test.keys.orderEvents(orderIds[0] ?? ""), 0, -1);
    expect(first.map((event) => event.cursor)).toEqual(
      history.map((json) => JSON.parse(json).cursor),
    );
  });

  it("a client that resumes with after gets what it missed and nothing twice", async () => {
    const test = await startTestGateway();
    const client = sseClient(test.gateway.streamUrl, singleConnection);
    const orderId = testOrderId();
    const events = eventsOf(orderId);
    await publishEvent(test.redis, test.keys, events.created());
    await publishEvent(test.redis, test.keys, events.reserved());

    const before = collect(client, ORDER_EVENTS, { orderId });
    const seen = await received(before, 2);
    before.dispose();
    await publishEvent(test.redis, test.keys, events.processed());
    await publishEvent(test.redis, test.keys, events.shipped());
    await waitForHistory(test, orderId, 4);

    const resumed = collect(client, ORDER_EVENTS, { orderId, after: seen[1]?.cursor });
    const missed = await received(resumed, 2);
    expect(missed.map((event) => event.type)).toEqual(["payment.processed", "shipment.created"]);
    expectInCursorOrder([...seen, ...missed]);
  });

  it("events(after) replays the feed after the cursor page by page, then goes live, in order", async () => {
    const test = await startTestGateway({ FEED_BATCH_SIZE: "2" });
    const client = sseClient(test.gateway.streamUrl, singleConnection);
    const [a, b] = [testOrderId(), testOrderId()];
    const [eventsA, eventsB] = [eventsOf(a), eventsOf(b)];
    for (const event of [
      eventsA.created(),
      eventsB.created(),
      eventsA.reserved(),
      eventsB.rejected(),
    ]) {
      await publishEvent(test.redis, test.keys, event);
    }
    await waitForHistory(test, a, 2);
    await waitForHistory(test, b, 2);
    for (const event of [eventsA.processed(), eventsA.shipped()]) {
      await publishEvent(test.redis, test.keys, event);
    }
    await waitForHistory(test, a, 4);
    const feed = await test.redis.xrange(test.keys.partition(0).feed, "-", "+");
    expect(feed).toHaveLength(6);
    const after = feed[0]?.[0] as string;

    const firehose = collect(client, EVENTS, { after });
    const replayed = await received(firehose, 5);
    expect(replayed.map((event) => event.cursor)).toEqual(feed.slice(1).map(([id]) => id));

    const c = testOrderId();
    await publishEvent(test.redis, test.keys, eventsOf(c).created());
    const all = await received(firehose, 6);
    expect(all[5]).toMatchObject({ orderId: c, type: "order.created" });
    expectInCursorOrder(all);
  });

  it("events without after starts live from now", async () => {
    const test = await startTestGateway();
    const client = sseClient(test.gateway.streamUrl, singleConnection);
    const old = testOrderId();
    await publishEvent(test.redis, test.keys, eventsOf(old).created());
    await waitForHistory(test, old, 1);

    const firehose = collect(client, EVENTS);
    await waitForSubscribers(test, 1);
    const fresh = testOrderId();
    await publishEvent(test.redis, test.keys, eventsOf(fresh).created());
    const [event] = await received(firehose, 1);
    expect(event).toMatchObject({ orderId: fresh, type: "order.created" });
  });

  it("closes only the subscriber that falls behind, with SLOW_SUBSCRIBER and where to resume", async () => {
    // A burst of 20 events of ~10 kB is handed over in one turn: past the smallest output bound
    // (64 kB) the connection counts as reading slowly until the turn's frames have left, so the
    // rest of the burst waits in the subscriber's buffer of 5, which overflows.
    const test = await startTestGateway({
      SUBSCRIBER_BUFFER_SIZE: "5",
      SSE_MAX_BUFFERED_BYTES: "65536",
    });
    const client = sseClient(test.gateway.streamUrl, singleConnection);
    const [slowOrder, calmOrder] = [testOrderId(), testOrderId()];
    const withData = ORDER_EVENTS.replace(EVENT_FIELDS, `${EVENT_FIELDS} data`);
    const slow = collect(client, withData, { orderId: slowOrder });
    const calm = collect(client, ORDER_EVENTS, { orderId: calmOrder });
    await waitForSubscribers(test, 2);

    await appendToFeedAtOnce(test.redis, test.keys, [eventsOf(slowOrder).created()]);
    await received(slow, 1);
    // One burst of more events than the buffer holds: the hub hands them over all at once.
    const burst = Array.from({ length: 20 }, () => bigOrderCreated(slowOrder));
    await appendToFeedAtOnce(test.redis, test.keys, [...burst, eventsOf(calmOrder).created()]);

    await slow.done;
    const failure = slow.results.at(-1)?.errors?.[0];
    const lastCursor = slow.events.at(-1)?.cursor;
    expect(failure?.extensions).toMatchObject({ code: "SLOW_SUBSCRIBER", resumeAfter: lastCursor });
    expect(failure?.message).toContain(`after: "${lastCursor}"`);
    expect(slow.events.length).toBeLessThan(21);

    await received(calm, 1);
    await appendToFeedAtOnce(test.redis, test.keys, [eventsOf(calmOrder).reserved()]);
    const calmEvents = await received(calm, 2);
    expect(calmEvents.map((event) => event.type)).toEqual(["order.created", "inventory.reserved"]);
    expect(calm.isDone).toBe(false);
    await waitFor(
      "the slow subscriber to be detached",
      async () => (await subscribersOf(test)) === 1,
    );

    // Resuming where it was told to gets the rest of the burst from the order's history.
    const missed = 21 - slow.events.length;
    const resumed = collect(client, withData, { orderId: slowOrder, after: lastCursor });
    expect(await received(resumed, missed)).toHaveLength(missed);
  });

  it("answers a malformed cursor with BAD_USER_INPUT", async () => {
    const test = await startTestGateway();
    const client = sseClient(test.gateway.streamUrl, singleConnection);
    const bad = collect(client, EVENTS, { after: "yesterday" });
    await bad.done;
    expect(bad.results[0]?.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
  });
});

describe("subscriptions over Yoga's SSE at /graphql", () => {
  it("orderEvents sends history then live events", async () => {
    const test = await startTestGateway();
    const orderId = testOrderId();
    const events = eventsOf(orderId);
    await publishEvent(test.redis, test.keys, events.created());
    await waitForHistory(test, orderId, 1);
    const watcher = collectYogaSse(test.gateway.url, ORDER_EVENTS, { orderId });
    await received(watcher, 1);
    await publishEvent(test.redis, test.keys, events.reserved());
    const all = await received(watcher, 2);
    expect(all.map((event) => event.type)).toEqual(["order.created", "inventory.reserved"]);
  });

  it("events(after) reports CURSOR_EXPIRED when the feed was trimmed past the cursor", async () => {
    const test = await startTestGateway();
    const orderId = testOrderId();
    const cursors = await appendToFeedAtOnce(
      test.redis,
      test.keys,
      Array.from({ length: 3 }, () => eventsOf(orderId).shipped()),
    );
    await test.redis.xtrim(test.keys.partition(0).feed, "MINID", cursors[2] as string);
    const expired = collectYogaSse(test.gateway.url, EVENTS, { after: cursors[0] });
    await expired.done;
    expect(expired.results[0]?.errors?.[0]?.extensions?.code).toBe("CURSOR_EXPIRED");
    // A cursor at or after the oldest kept event loses nothing and is accepted.
    const fine = collectYogaSse(test.gateway.url, EVENTS, { after: cursors[2] });
    await waitForSubscribers(test, 1);
    await appendToFeedAtOnce(test.redis, test.keys, [eventsOf(orderId).shipped()]);
    await received(fine, 1);
  });
});

describe("the event hub", () => {
  it("serves a hundred subscribers with one feed connection", async () => {
    const consumer = `hub-${testOrderId()}`;
    const test = await startTestGateway({ CONSUMER_NAME: consumer });
    const client = sseClient(test.gateway.streamUrl, true);
    const orderId = testOrderId();
    const watchers = Array.from({ length: 100 }, () => collect(client, ORDER_EVENTS, { orderId }));
    await waitForSubscribers(test, 100);
    await publishEvent(test.redis, test.keys, eventsOf(orderId).created());
    for (const watcher of watchers) await received(watcher, 1);
    const clients = String(await test.redis.client("LIST")).split("\n");
    const feedReaders = clients.filter((line) => line.includes(` name=gateway-feed.${consumer}:`));
    expect(feedReaders).toHaveLength(1);
  });
});
