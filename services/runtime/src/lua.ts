import { createHash } from "node:crypto";
import { assertOneSlot } from "@conveyor/contract";
import type { RedisClient } from "./redis.ts";

/** A Lua script, run by its SHA1 (`EVALSHA`), loaded on demand. */
export interface LuaScript<TResult> {
  run(
    redis: RedisClient,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<TResult>;
}

/**
 * Defines a Lua script to run with `EVALSHA`, falling back to `EVAL` (which also caches it) when
 * Redis does not know it — after a restart, say. Unlike ioredis's `defineCommand`, these are
 * plain commands, so they can share an automatic pipeline with others: ioredis's own script
 * loading inside an automatic pipeline can misalign replies (redis/ioredis#1931).
 *
 * Every call checks that its keys share one hash slot (see `assertOneSlot`). A Redis Cluster
 * routes the call to the node of its keys; that node may not know the script (a promoted
 * replica, a restarted node), and the `EVAL` fallback then loads it there.
 */
export function defineScript<TResult>(lua: string): LuaScript<TResult> {
  const sha = createHash("sha1").update(lua).digest("hex");
  return {
    async run(redis, keys, args) {
      assertOneSlot(keys);
      try {
        return (await redis.evalsha(sha, keys.length, ...keys, ...args)) as TResult;
      } catch (error) {
        if (!(error instanceof Error && error.message.startsWith("NOSCRIPT"))) throw error;
        return (await redis.eval(lua, keys.length, ...keys, ...args)) as TResult;
      }
    },
  };
}
