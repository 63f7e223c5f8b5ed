import { setTimeout as sleep } from "node:timers/promises";
import { startRedisCluster } from "@conveyor/testkit";
import { expect, it } from "vitest";
import { closeRedis, createRedis, parseClusterNodes } from "./redis.ts";

it("finds a failed-over shard's new master while every tick pipelines commands of two of its slots", async () => {
  const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  const redis = createRedis(
    { url: "redis://127.0.0.1", clusterNodes: parseClusterNodes(cluster.nodes) },
    "commands",
    "failover-test",
  );
  try {
    // Two hash tags of shard 0 (the lowest slots), so each tick's automatic pipeline to that
    // node holds commands of two slots: after a failover each is answered MOVED with its own
    // slot, which ioredis does not redirect (redis/ioredis#2075).
    const tags: string[] = [];
    for (let i = 0; tags.length < 2; i += 1) {
      if (Number(await redis.cluster("KEYSLOT", `{t${i}}`)) < 5_000) tags.push(`{t${i}}`);
    }
    let lastFailureAt = 0;
    let isLoading = true;
    const load = (async () => {
      while (isLoading) {
        const results = await Promise.allSettled(tags.map((tag) => redis.incr(`${tag}:count`)));
        if (results.some((result) => result.status === "rejected")) lastFailureAt = Date.now();
        await sleep(1);
      }
    })();
    await sleep(500);
    await cluster.failover(0);
    const failedOverAt = Date.now();
    await sleep(4_000);
    isLoading = false;
    await load;

    expect(lastFailureAt - failedOverAt).toBeLessThan(2_500);
  } finally {
    await closeRedis(redis);
    await cluster.stop();
  }
}, 60_000);
