import {
  type Collector,
  collect,
  collectYogaSse,
  EVENT_FIELDS,
  sseClient,
  waitFor,
} from "@conveyor/testkit";
import { describe, expect, it } from "vitest";
import { eventsOf, testOrderId } from "../testing/events.ts";
import { appendToFeedAtOnce } from "../testing/feed.ts";
import { startTestGateway, type TestGateway } from "../testing/test-gateway.ts";

const FIREHOSE = `subscription Firehose { events { ${EVENT_FIELDS} data } }`;
const WATCH = `subscription Watch($orderId: ID!) { orderEvents(orderId: $orderId) { ${EVENT_FIELDS} } }`;

/** The subscription transports, each as a way to open a collector on a test gateway. */
const TRANSPORTS = {
  "graphql-sse distinct connections": (test: TestGateway, query: string, variables = {}) =>
    collect(sseClient(test.gateway.streamUrl, false), query, variables),
  "graphql-sse single connection": (test: TestGateway, query: string, variables = {}) =>
    collect(sseClient(test.gateway.streamUrl, true), query, variables),
  "Yoga's SSE": (test: TestGateway, query: string, variables = {}) =>
    collectYogaSse(test.gateway.url, query, variables),
} as const;
type Transport = keyof typeof TRANSPORTS;

async function members(test: TestGateway, count: number): Promise<void> {
  await waitFor(`${count} subscribers`, () =>
    test.gateway.subscriptionStats().members === count ? true : undefined,
  );
}

async function eventsIn(collector: Collector, count: number) {
  return waitFor(`${count} events (have ${collector.events.length})`, () => {
    if (collector.results.some((result) => result.errors)) {
      throw new Error(`subscription failed: ${JSON.stringify(collector.results)}`);
    }
    return collector.events.length >= count ? collector.events : undefined;
  });
}

/** Four events of one new order, as the pipeline would publish them. */
function lifeOfAnOrder() {
  const order = eventsOf(testOrderId());
  return [order.created(), order.reserved(), order.processed(), order.shipped()];
}

describe.each(Object.keys(TRANSPORTS) as Transport[])(
  "multiplexed subscriptions over %s",
  (transport) => {
    const open = TRANSPORTS[transport];

    it("gives subscribers of one document identical results from one execution per event", async () => {
      const test = await startTestGateway();
      const subscribers = [open(test, FIREHOSE), open(test, FIREHOSE), open(test, FIREHOSE)];
      await members(test, 3);
      expect(test.gateway.subscriptionStats().cohorts).toBe(1);
      const before = test.gateway.subscriptionStats().executions;

      const events = lifeOfAnOrder();
      await appendToFeedAtOnce(test.redis, test.keys, events);
      for (const subscriber of subscribers) await eventsIn(subscriber, events.length);

      expect(test.gateway.subscriptionStats().executions - before).toBe(events.length);
      const [first, ...others] = subscribers.map((subscriber) => subscriber.results);
      for (const results of others) expect(results).toEqual(first);
      expect(first?.map((result) => (result.data as { events: { id: string } }).events.id)).toEqual(
        events.map((event) => event.id),
      );
    });

    it("never shares between different variables or documents", async () => {
      const test = await startTestGateway();
      const [one, two] = [lifeOfAnOrder(), lifeOfAnOrder()];
      const watchOne = open(test, WATCH, { orderId: one[0]?.orderId });
      const watchTwo = open(test, WATCH, { orderId: two[0]?.orderId });
      const firehose = open(test, FIREHOSE);
      const narrowFirehose = open(test, `subscription { events { id cursor } }`);
      await members(test, 4);
      expect(test.gateway.subscriptionStats().cohorts).toBe(4);
      const before = test.gateway.subscriptionStats().executions;

      await appendToFeedAtOnce(test.redis, test.keys, [...one, ...two]);
      await eventsIn(firehose, 8);
      await eventsIn(narrowFirehose, 8);
      expect((await eventsIn(watchOne, 4)).map((event) => event.orderId)).toEqual(
        one.map((event) => event.orderId),
      );
      expect((await eventsIn(watchTwo, 4)).map((event) => event.orderId)).toEqual(
        two.map((event) => event.orderId),
      );
      // Each cohort executed each of its own events once: 4 + 4 for the watchers, 8 + 8.
      expect(test.gateway.subscriptionStats().executions - before).toBe(24);
      expect(narrowFirehose.results[0]?.data).toEqual({
        events: { id: one[0]?.id, cursor: firehose.events[0]?.cursor },
      });
    });

    it("lets one subscriber leave while the others go on, and frees the cohort with the last", async () => {
      const test = await startTestGateway();
      const leaving = open(test, FIREHOSE);
      const staying = open(test, FIREHOSE);
      await members(test, 2);
      const first = lifeOfAnOrder();
      await appendToFeedAtOnce(test.redis, test.keys, first);
      await eventsIn(leaving, 4);
      leaving.dispose();
      await members(test, 1);

      const second = lifeOfAnOrder();
      await appendToFeedAtOnce(test.redis, test.keys, second);
      expect((await eventsIn(staying, 8)).map((event) => event.id)).toEqual(
        [...first, ...second].map((event) => event.id),
      );
      expect(leaving.events).toHaveLength(4);
      staying.dispose();
      await members(test, 0);
      expect(test.gateway.subscriptionStats().cohorts).toBe(0);
    });

    it("gives a late joiner the history, then live events, with no gap or duplicate at the seam", async () => {
      const test = await startTestGateway();
      const order = eventsOf(testOrderId());
      const orderId = (order.created() as { orderId: string }).orderId;
      const early = open(test, WATCH, { orderId });
      await members(test, 1);
      await appendToFeedAtOnce(test.redis, test.keys, [order.created(), order.reserved()]);
      await eventsIn(early, 2);

      // The late joiner opens while the order moves on: its history read and the live events race.
      const late = open(test, WATCH, { orderId });
      const moving = (async () => {
        await appendToFeedAtOnce(test.redis, test.keys, [order.processed()]);
        await appendToFeedAtOnce(test.redis, test.keys, [order.shipped()]);
      })();
      await moving;
      const earlyEvents = await eventsIn(early, 4);
      const lateEvents = await eventsIn(late, 4);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(lateEvents.map((event) => event.cursor)).toEqual(earlyEvents.map((e) => e.cursor));
      expect(late.events).toHaveLength(4);
      expect(test.gateway.subscriptionStats().cohorts).toBe(1);
    });
  },
);

describe("multiplexed subscriptions across transports", () => {
  it("share one cohort and one execution per event whatever each subscriber's transport", async () => {
    const test = await startTestGateway();
    const subscribers = Object.values(TRANSPORTS).map((open) => open(test, FIREHOSE));
    await members(test, subscribers.length);
    expect(test.gateway.subscriptionStats().cohorts).toBe(1);
    const before = test.gateway.subscriptionStats().executions;
    const events = lifeOfAnOrder();
    await appendToFeedAtOnce(test.redis, test.keys, events);
    for (const subscriber of subscribers) await eventsIn(subscriber, 4);
    expect(test.gateway.subscriptionStats().executions - before).toBe(4);
    const [first, ...others] = subscribers.map((subscriber) => subscriber.results);
    for (const results of others) expect(results).toEqual(first);
  });
});
