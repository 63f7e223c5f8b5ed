import { createKeys } from "@conveyor/contract";
import { uniquePrefix } from "@conveyor/testkit";
import { pino } from "pino";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createRedis } from "./redis.ts";
import {
  createStreamTrimmer,
  safeTrimPoint,
  supportsAckedTrimming,
  topologyStreams,
  trimArguments,
} from "./trimmer.ts";

const redis = createRedis(inject("redisUrl"), "commands", "trimmer-test");
const logger = pino({ level: "silent" });
afterAll(() => redis.disconnect());

async function fill(stream: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1)
    ids.push((await redis.xadd(stream, "*", "n", String(i))) as string);
  return ids;
}

async function readAndAck(stream: string, group: string, count: number, ackCount = count) {
  const reply = (await redis.xreadgroup(
    "GROUP",
    group,
    "c",
    "COUNT",
    count,
    "STREAMS",
    stream,
    ">",
  )) as Array<[string, Array<[string, string[]]>]> | null;
  const ids = reply?.[0]?.[1].map(([id]) => id) ?? [];
  if (ackCount > 0) await redis.xack(stream, group, ...ids.slice(0, ackCount));
  return ids;
}

describe("stream trimmer", () => {
  it("never trims entries a group has not acknowledged, and trims what every group has", async () => {
    const stream = createKeys(uniquePrefix("trim")).partition(0).stream("order.created");
    const ids = await fill(stream, 1_000);
    await redis.xgroup("CREATE", stream, "fast", "0");
    await redis.xgroup("CREATE", stream, "slow", "0");
    await readAndAck(stream, "fast", 1_000);
    // "slow" read 600 entries but acknowledged only the first 500 (100 still pending).
    await readAndAck(stream, "slow", 600, 500);

    expect(await safeTrimPoint(redis, stream)).toBe(ids[500]);
    const trimmer = createStreamTrimmer({
      redis,
      streams: [{ key: stream, requiredGroups: [] }],
      logger,
    });
    await trimmer.trimNow();
    const [first] = (await redis.xrange(stream, "-", "+", "COUNT", 1)) as Array<[string, string[]]>;
    const firstKept = first?.[0] as string;
    // Approximate trimming removes whole nodes only: it may keep some acked entries, never less.
    expect(ids.indexOf(firstKept)).toBeLessThanOrEqual(500);
    expect(await redis.xlen(stream)).toBeGreaterThanOrEqual(500);
    expect(await redis.xlen(stream)).toBeLessThan(1_000);
  });

  it("keeps a whole backlog for a group that is stopped", async () => {
    const stream = createKeys(uniquePrefix("trim")).partition(0).stream("payment.processed");
    await fill(stream, 5_000);
    await redis.xgroup("CREATE", stream, "running", "0");
    await redis.xgroup("CREATE", stream, "stopped", "0");
    await readAndAck(stream, "running", 5_000);
    const trimmer = createStreamTrimmer({
      redis,
      streams: [{ key: stream, requiredGroups: [] }],
      logger,
    });
    expect(await trimmer.trimNow()).toBe(0);
    expect(await redis.xlen(stream)).toBe(5_000);
    expect((await readAndAck(stream, "stopped", 10_000)).length).toBe(5_000);
  });

  it("waits for every group of the topology before trimming anything", async () => {
    const keys = createKeys(uniquePrefix("trim"));
    const stream = keys.partition(0).stream("order.created");
    await fill(stream, 500);
    await redis.xgroup("CREATE", stream, "inventory", "0");
    await readAndAck(stream, "inventory", 500);
    // The gateway's read model has not started yet: its group does not exist.
    const trimmer = createStreamTrimmer({
      redis,
      streams: topologyStreams(keys, ["order.created"]),
      logger,
    });
    expect(await trimmer.trimNow()).toBe(0);
    await redis.xgroup("CREATE", stream, "gateway", "0");
    expect(await trimmer.trimNow()).toBe(0);
    await readAndAck(stream, "gateway", 500);
    expect(await trimmer.trimNow()).toBeGreaterThan(0);
  });

  it("leaves a stream without consumer groups whole", async () => {
    const stream = createKeys(uniquePrefix("trim")).partition(0).stream("shipment.created");
    await fill(stream, 300);
    expect(await safeTrimPoint(redis, stream)).toBeUndefined();
    const trimmer = createStreamTrimmer({
      redis,
      streams: [{ key: stream, requiredGroups: [] }],
      logger,
    });
    expect(await trimmer.trimNow()).toBe(0);
    expect(await redis.xlen(stream)).toBe(300);
  });
});

describe("trimming mode", () => {
  async function serverVersion(): Promise<number[]> {
    const info = await redis.info("server");
    const version = /redis_version:([\d.]+)/.exec(info)?.[1] ?? "0";
    return version.split(".").map(Number);
  }
  const isAtLeast82 = ([major = 0, minor = 0]: number[]) =>
    major > 8 || (major === 8 && minor >= 2);

  it("uses ACKED trimming exactly when Redis has it (8.2+), plain MINID before", async () => {
    const hasAcked = isAtLeast82(await serverVersion());
    expect(await supportsAckedTrimming(redis)).toBe(hasAcked);
    const stream = createKeys(uniquePrefix("trim")).partition(0).stream("order.created");
    await fill(stream, 300);
    await redis.xgroup("CREATE", stream, "only", "0");
    await readAndAck(stream, "only", 300);
    const trimmer = createStreamTrimmer({
      redis,
      streams: [{ key: stream, requiredGroups: [] }],
      logger,
    });
    await trimmer.trimNow();
    expect(trimmer.mode).toBe(hasAcked ? "minid-acked" : "minid");
  });

  it("falls back to MINID alone when Redis rejects ACKED, and keeps trimming", async (context) => {
    if (isAtLeast82(await serverVersion())) context.skip();
    const stream = createKeys(uniquePrefix("trim")).partition(0).stream("payment.failed");
    const ids = await fill(stream, 1_000);
    await redis.xgroup("CREATE", stream, "only", "0");
    await readAndAck(stream, "only", 1_000);
    const trimmer = createStreamTrimmer({
      redis,
      streams: [{ key: stream, requiredGroups: [] }],
      logger,
      detectAckedTrimming: async () => true,
    });
    expect(await trimmer.trimNow()).toBeGreaterThan(0);
    expect(trimmer.mode).toBe("minid");
    const [first] = await redis.xrange(stream, "-", "+", "COUNT", 1);
    expect(ids.indexOf(first?.[0] as string)).toBeLessThanOrEqual(999);
  });

  it("adds ACKED after the MINID threshold only in acked mode", () => {
    expect(trimArguments("s", "5-0", "minid")).toEqual(["s", "MINID", "~", "5-0"]);
    expect(trimArguments("s", "5-0", "minid-acked")).toEqual(["s", "MINID", "~", "5-0", "ACKED"]);
  });
});
