import { createKeys, EVENT_TYPES, type Keys } from "@conveyor/contract";
import {
  type Collector,
  collect,
  createTestSystem,
  type ReceivedEvent,
  type RedisCluster,
  sseClient,
  startRedisCluster,
  uniquePrefix,
  waitFor,
} from "@conveyor/testkit";
import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from "vitest";
import { expectNoOversell } from "./scenarios/oversell.ts";
import { type System, startSystem } from "./support/system.ts";

const PARTITIONS = 4;
const HAPPY_PATH = ["order.created", "inventory.reserved", "payment.processed", "shipment.created"];
const PLACE_ORDER = /* GraphQL */ `
  mutation Place($input: PlaceOrderInput!) {
    placeOrder(input: $input) { order { id } }
  }
`;
const ORDER_STATUS = /* GraphQL */ `
  query Status($id: ID!) { order(id: $id) { status } }
`;
const EVENTS = /* GraphQL */ `
  subscription Everything($after: String) { events(after: $after) { id cursor type orderId } }
`;

let cluster: RedisCluster;
let redis: Cluster;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  redis = new Cluster(
    cluster.nodes.split(",").map((node) => {
      const [host = "", port = ""] = node.split(":");
      return { host, port: Number(port) };
    }),
  );
});
afterAll(async () => {
  redis?.disconnect();
  await cluster?.stop();
});

/** The whole system as processes on the cluster, with its own key prefix. */
async function startClusterSystem(): Promise<{ system: System; keys: Keys }> {
  const prefix = uniquePrefix("cluster");
  const system = await startSystem({
    redisUrl: inject("redisUrl"),
    prefix,
    env: {
      REDIS_CLUSTER_NODES: cluster.nodes,
      STREAM_PARTITIONS: String(PARTITIONS),
      TRIM_INTERVAL_MS: "3600000",
      CLAIM_IDLE_MS: "2000",
    },
  });
  onTestFinished(() => system.stopAll());
  return { system, keys: createKeys(prefix, PARTITIONS) };
}

/**
 * Waits until a live `events` subscription receives events: places a probe order until the
 * subscriber sees one of its events. The probe's first events may come before the subscription
 * does, so the tests leave the probe out of what they check.
 */
async function untilSubscribed(system: System, watcher: Collector): Promise<void> {
  const probe = await placeOrder(system, "probe", uniquePrefix("probe"));
  await waitFor("the subscriber to see its probe", () =>
    watcher.events.some((event) => event.orderId === probe),
  );
}

/** Whether every order's whole journey is among the events. */
function hasEveryEvent(events: readonly ReceivedEvent[], ids: readonly string[]): boolean {
  const seen = new Set(events.map((event) => `${event.orderId} ${event.type}`));
  return ids.every((id) => HAPPY_PATH.every((type) => seen.has(`${id} ${type}`)));
}

/** Places an order, retrying with its idempotency key while the cluster fails over. */
async function placeOrder(system: System, customerId: string, key: string): Promise<string> {
  return waitFor(`order ${key} to be accepted`, async () => {
    const response = await system
      .graphql<{ placeOrder: { order: { id: string } } }>(PLACE_ORDER, {
        input: {
          customerId,
          items: [{ sku: "KB-001", quantity: 1 }],
          paymentToken: "tok_visa",
          idempotencyKey: key,
        },
      })
      .catch(() => undefined);
    return response?.data?.placeOrder.order.id ?? false;
  });
}

async function statusOf(system: System, id: string): Promise<string | undefined> {
  const response = await system
    .graphql<{ order: { status: string } | null }>(ORDER_STATUS, { id })
    .catch(() => undefined);
  return response?.data?.order?.status;
}

async function waitUntilShipped(system: System, ids: readonly string[]): Promise<void> {
  await waitFor(
    `${ids.length} orders to ship`,
    async () => {
      const statuses = await Promise.all(ids.map((id) => statusOf(system, id)));
      return statuses.every((status) => status === "SHIPPED");
    },
    60_000,
  );
}

/** Every event of the given orders in the streams of every partition, by order. */
async function streamEventsOf(keys: Keys, ids: readonly string[]): Promise<Map<string, string[]>> {
  const wanted = new Set(ids);
  const byOrder = new Map<string, string[]>();
  for (const partition of keys.partitions) {
    for (const type of EVENT_TYPES) {
      for (const [, fields] of await redis.xrange(partition.stream(type), "-", "+")) {
        const orderId = fields[fields.indexOf("orderId") + 1] ?? "";
        if (!wanted.has(orderId)) continue;
        expect(keys.forOrder(orderId), `${orderId} in partition ${partition.index}`).toBe(
          partition,
        );
        byOrder.set(orderId, [...(byOrder.get(orderId) ?? []), type]);
      }
    }
  }
  return byOrder;
}

/** Checks that each order's events reached the subscriber exactly once, in the order they happened. */
function expectEachEventOnceInOrder(events: readonly ReceivedEvent[], ids: readonly string[]) {
  expect(new Set(events.map((event) => event.id)).size).toBe(events.length);
  for (const id of ids) {
    expect(
      events.filter((event) => event.orderId === id).map((event) => event.type),
      id,
    ).toEqual(HAPPY_PATH);
  }
}

describe(`on a Redis Cluster of three masters with replicas, ${PARTITIONS} partitions`, () => {
  it("never oversells", async () => {
    await expectNoOversell(
      createTestSystem("cluster-oversell", { clusterNodes: cluster.nodes, partitions: PARTITIONS }),
    );
  });

  it("ships every order across the partitions, and finishes the waiting ones when payment returns", async () => {
    const { system, keys } = await startClusterSystem();
    const watcher = collect(sseClient(`${system.gatewayUrl}/graphql/stream`, false), EVENTS);
    await untilSubscribed(system, watcher);
    const ids = await Promise.all(
      Array.from({ length: 24 }, (_, index) =>
        placeOrder(system, `c-${index % 5}`, `happy-${index}`),
      ),
    );
    await waitUntilShipped(system, ids);

    const partitionsUsed = new Set(ids.map((id) => keys.forOrder(id).index));
    expect(partitionsUsed.size).toBe(PARTITIONS);
    const events = await streamEventsOf(keys, ids);
    for (const id of ids) expect(events.get(id), id).toEqual(HAPPY_PATH);
    const mastersWithOrders = await Promise.all(
      redis.nodes("master").map(async (node) => (await node.dbsize()) > 0),
    );
    expect(mastersWithOrders.filter(Boolean).length).toBeGreaterThanOrEqual(2);

    // Payment down: its events wait in every partition; back up, the orders finish.
    await system.stop("payment");
    const waiting = await Promise.all(
      Array.from({ length: 8 }, (_, index) => placeOrder(system, "patient", `waiting-${index}`)),
    );
    await waitFor("the waiting orders to be RESERVED", async () => {
      const statuses = await Promise.all(waiting.map((id) => statusOf(system, id)));
      return statuses.every((status) => status === "RESERVED");
    });
    await system.start("payment");
    await waitUntilShipped(system, waiting);

    await waitFor("the subscriber to see every event", () =>
      hasEveryEvent(watcher.events, [...ids, ...waiting]),
    );
    expectEachEventOnceInOrder(watcher.events, [...ids, ...waiting]);
  });

  it("resumes an events subscription after its cursor, across partitions and a gateway restart, with nothing lost or repeated", async () => {
    const { system } = await startClusterSystem();
    const url = `${system.gatewayUrl}/graphql/stream`;
    const first = collect(sseClient(url, true), EVENTS);
    await untilSubscribed(system, first);
    const before = await Promise.all(
      Array.from({ length: 10 }, (_, index) => placeOrder(system, "resumer", `before-${index}`)),
    );
    await waitFor("some events of these orders", () =>
      first.events.some((event) => before.includes(event.orderId)),
    );
    first.dispose();
    const seen = [...first.events];
    const cursor = seen.at(-1)?.cursor as string;
    expect(cursor.split("_")).toHaveLength(PARTITIONS);

    await system.stop("gateway", "SIGKILL");
    await system.start("gateway");
    const after = await Promise.all(
      Array.from({ length: 10 }, (_, index) => placeOrder(system, "resumer", `after-${index}`)),
    );
    const ids = [...before, ...after];
    await waitUntilShipped(system, ids);

    const resumed = collect(sseClient(url, false), EVENTS, { after: cursor });
    await waitFor("every event of the 20 orders", () =>
      hasEveryEvent([...seen, ...resumed.events], ids),
    );
    expectEachEventOnceInOrder([...seen, ...resumed.events], ids);
    // A resumed subscriber's cursors keep covering every partition, and never go back.
    expect(resumed.events.every((event) => event.cursor.split("_").length === PARTITIONS)).toBe(
      true,
    );
  });

  it("loses and repeats nothing while masters fail over under load, and reloads scripts on each node", async () => {
    const { system, keys } = await startClusterSystem();
    const watcher = collect(sseClient(`${system.gatewayUrl}/graphql/stream`, true), EVENTS);
    await untilSubscribed(system, watcher);
    // No node knows the scripts now: each is loaded again on the node its keys live on.
    await Promise.all(redis.nodes("master").map((node) => node.script("FLUSH")));
    const placing: Array<Promise<string>> = [];
    for (let index = 0; index < 60; index += 1) {
      placing.push(placeOrder(system, `f-${index % 7}`, `failover-${index}`));
      if (index === 20) await cluster.failover(0);
      if (index === 40) await cluster.failover(1);
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    const ids = await Promise.all(placing);
    expect(new Set(ids).size).toBe(60);
    await waitUntilShipped(system, ids);

    const events = await streamEventsOf(keys, ids);
    for (const id of ids) expect(events.get(id), id).toEqual(HAPPY_PATH);
    const charges = await Promise.all(ids.map((id) => redis.exists(keys.charge(id))));
    expect(charges.every((count) => count === 1)).toBe(true);
    await waitFor("the subscriber to see every event", () => hasEveryEvent(watcher.events, ids));
    expectEachEventOnceInOrder(watcher.events, ids);
  });
});
