import { CrossSlotError } from "@conveyor/contract";
import { uniquePrefix } from "@conveyor/testkit";
import { afterAll, describe, expect, inject, it } from "vitest";
import { defineScript } from "./lua.ts";
import { createRedis } from "./redis.ts";

const redis = createRedis(inject("redisUrl"), "commands", "lua-test");
afterAll(() => redis.disconnect());

const echo = defineScript<[string, string]>("return { KEYS[1], ARGV[1] }");

describe("Lua scripts on an auto-pipelined connection", () => {
  it("gives each of many concurrent runs its own reply, also when Redis has forgotten the script", async () => {
    await redis.script("FLUSH");
    // Mixed with plain commands in the same ticks, as a service's handlers and commits are.
    const runs = Array.from({ length: 300 }, (_, index) =>
      index % 3 === 0
        ? redis.echo(`plain-${index}`).then((reply) => [reply])
        : echo.run(redis, [`key-${index}`], [`arg-${index}`]),
    );
    const replies = await Promise.all(runs);
    replies.forEach((reply, index) => {
      expect(reply).toEqual(
        index % 3 === 0 ? [`plain-${index}`] : [`key-${index}`, `arg-${index}`],
      );
    });
  });
});

describe("batched script calls, written outside the automatic pipeline", () => {
  it("answers each call and each auto-pipelined command around it, also when Redis has forgotten the script", async () => {
    await redis.script("FLUSH");
    const runs = Array.from({ length: 300 }, (_, index) => {
      if (index % 3 === 0) return redis.echo(`plain-${index}`).then((reply) => [reply]);
      const script = index % 3 === 1 ? echo.runBatched : echo.run;
      return script(redis, [`key-${index}`], [`arg-${index}`]);
    });
    const replies = await Promise.all(runs);
    replies.forEach((reply, index) => {
      expect(reply).toEqual(
        index % 3 === 0 ? [`plain-${index}`] : [`key-${index}`, `arg-${index}`],
      );
    });
  });

  it("refuses keys of two hash slots as run does", async () => {
    const prefix = uniquePrefix("slots");
    await expect(
      echo.runBatched(redis, [`${prefix}{a}:one`, `${prefix}{b}:two`], ["x"]),
    ).rejects.toThrow(CrossSlotError);
  });
});

describe("the one-slot rule", () => {
  it("refuses a script call whose keys are in two hash slots, before it reaches Redis", async () => {
    const increment = defineScript<number>("return redis.call('INCR', KEYS[2])");
    const prefix = uniquePrefix("slots");
    const [own, other] = [`${prefix}{a}:one`, `${prefix}{b}:two`];
    await expect(increment.run(redis, [own, other], [])).rejects.toThrow(CrossSlotError);
    expect(await redis.get(other)).toBeNull();
    expect(await increment.run(redis, [own, `${prefix}{a}:two`], [])).toBe(1);
  });
});
