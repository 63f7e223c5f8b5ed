import { startRedisCluster } from "@conveyor/testkit";
import { expect, it } from "vitest";
import { defineScript } from "./lua.ts";
import { closeRedis, createRedis, parseClusterNodes } from "./redis.ts";

it("connects to a cluster that requires a password with the one REDIS_URL carries", async () => {
  const cluster = await startRedisCluster({ masters: 3, password: "s3cret/pw" });
  const clusterNodes = parseClusterNodes(cluster.nodes);
  const withPassword = createRedis(
    { url: `redis://:${encodeURIComponent("s3cret/pw")}@ignored:1`, clusterNodes },
    "commands",
    "auth-test",
  );
  const withoutPassword = createRedis(
    { url: "redis://ignored:1", clusterNodes },
    "commands",
    "auth-test",
  );
  withoutPassword.on("error", () => {});
  try {
    const count = defineScript<number>("return redis.call('INCR', KEYS[1])");
    const replies = await Promise.all(
      Array.from({ length: 30 }, (_, index) => count.run(withPassword, [`{k${index}}:n`], [])),
    );
    expect(replies).toEqual(new Array(30).fill(1));
    await expect(withoutPassword.get("{k0}:n")).rejects.toThrow();
  } finally {
    await closeRedis(withPassword);
    withoutPassword.disconnect();
    await cluster.stop();
  }
});
