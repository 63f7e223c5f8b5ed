import { Cluster, Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { type RedisCluster, startRedisCluster } from "./redis-cluster.ts";
import { parseAddress } from "./redis-cluster-admin.ts";
import type { RedisServer } from "./redis-server.ts";

const KEY_COUNT = 300;

/** Each test's cluster and client, stopped when it ends whatever happened. */
let cluster: RedisCluster | undefined;
let client: Cluster | undefined;
afterEach(async () => {
  client?.disconnect();
  await cluster?.stop();
  client = undefined;
  cluster = undefined;
});

async function clusterWithClient(): Promise<{ cluster: RedisCluster; client: Cluster }> {
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  client = new Cluster(cluster.nodes.split(",").map(parseAddress));
  return { cluster, client };
}

async function writeKeys(redis: Cluster, label: string): Promise<void> {
  await Promise.all(
    Array.from({ length: KEY_COUNT }, (_, index) => redis.set(`${label}:${index}`, `${index}`)),
  );
}

async function readKeys(redis: Cluster, label: string): Promise<Array<string | null>> {
  return Promise.all(
    Array.from({ length: KEY_COUNT }, (_, index) => redis.get(`${label}:${index}`)),
  );
}

const expectedValues = Array.from({ length: KEY_COUNT }, (_, index) => `${index}`);

/** What one node says it is (`ROLE`'s first field): `master` or `slave`. */
async function roleOf(server: RedisServer): Promise<string> {
  const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  try {
    const [role] = (await redis.role()) as [string];
    return role;
  } finally {
    redis.disconnect();
  }
}

async function keyCountOf(server: RedisServer): Promise<number> {
  const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  try {
    return await redis.dbsize();
  } finally {
    redis.disconnect();
  }
}

describe("startRedisCluster", () => {
  it("spreads keys over every master and keeps serving them through a failover", async () => {
    const { cluster, client } = await clusterWithClient();
    expect(cluster.masters).toHaveLength(3);
    expect(cluster.replicas).toHaveLength(3);
    expect(cluster.nodes.split(",")).toHaveLength(6);

    await writeKeys(client, "before");
    const counts = await Promise.all(cluster.masters.map(keyCountOf));
    for (const count of counts) expect(count).toBeGreaterThan(0);
    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(KEY_COUNT);

    const [oldMaster, oldReplica] = [cluster.masters[1], cluster.replicas[1]];
    if (!oldMaster || !oldReplica) throw new Error("shard 1 has no master and replica");
    await cluster.failover(1);

    expect(cluster.masters[1]).toBe(oldReplica);
    expect(cluster.replicas[1]).toBe(oldMaster);
    expect(await roleOf(oldReplica)).toBe("master");
    expect(await roleOf(oldMaster)).toBe("slave");
    // A manual failover loses nothing: the promoted replica has all of its shard's keys.
    expect(await keyCountOf(oldReplica)).toBe(counts[1]);
    expect(await readKeys(client, "before")).toEqual(expectedValues);
    await writeKeys(client, "after");
    expect(await readKeys(client, "after")).toEqual(expectedValues);
  }, 30_000);

  it("promotes the replica of a killed master, and takes the killed node back as its replica", async () => {
    const { cluster, client } = await clusterWithClient();
    await writeKeys(client, "before");
    const [killed, replica] = [cluster.masters[2], cluster.replicas[2]];
    if (!killed || !replica) throw new Error("shard 2 has no master and replica");
    // Replication is asynchronous: make sure the replica has every write before the crash.
    const master = new Redis(killed.url);
    await master.wait(1, 5000);
    master.disconnect();

    await cluster.killMaster(2);

    expect(killed.isRunning).toBe(false);
    expect(cluster.masters[2]).toBe(replica);
    expect(await roleOf(replica)).toBe("master");
    expect(await readKeys(client, "before")).toEqual(expectedValues);
    await writeKeys(client, "after");
    expect(await readKeys(client, "after")).toEqual(expectedValues);

    await killed.start();
    await cluster.waitUntilSettled();
    expect(cluster.replicas[2]).toBe(killed);
    expect(await roleOf(killed)).toBe("slave");
  }, 30_000);

  it("refuses fewer than three masters, which Redis Cluster cannot form", async () => {
    await expect(startRedisCluster({ masters: 2 })).rejects.toThrow(/at least 3 masters/);
  });
});
