/**
 * The per-service throughput test shared by inventory.ts, payment.ts and shipment.ts: one
 * scenario XADDs valid entries into the service's input stream at a set rate; another watches
 * the service's consumer group (`XINFO GROUPS`) every second and reports its lag, its pending
 * entries and how many entries it finished per second — the throughput of that one service,
 * whatever the others do. After the feed stops, the watch goes on for DRAIN_SECONDS: the run
 * passes if the group is back to lag 0 by then.
 */
import { check, sleep } from "k6";
import exec from "k6/execution";
import { Counter, Gauge, Trend } from "k6/metrics";
import type { Options } from "k6/options";
import { Client } from "k6/x/redis";
import { numberFromEnv, REDIS_URL, SKUS_KEY, STOCK_KEY, streamKey } from "./config.ts";
import { INPUT_OF, inputEntry, type ServiceUnderTest } from "./events.ts";

/** Entries added per second. */
const RATE = numberFromEnv("RATE", 1000);
/** Entries per feed iteration (one XADD each, sent together). */
const BATCH = Math.max(1, Math.floor(numberFromEnv("BATCH", 10)));
/** How long to feed, in seconds. */
const DURATION = numberFromEnv("DURATION", 60);
/** How long to keep watching after the feed stops, in seconds. */
const DRAIN_SECONDS = numberFromEnv("DRAIN_SECONDS", 30);
/** Lag the group may still have at the end for the run to pass. */
const ALLOWED_LAG = numberFromEnv("ALLOWED_LAG", 1);

const added = new Counter("conveyor_entries_added");
const processed = new Counter("conveyor_entries_processed");
const processedPerSecond = new Trend("conveyor_processed_per_second");
const lagGauge = new Gauge("conveyor_group_lag");
const pendingGauge = new Gauge("conveyor_group_pending");

/** A group's progress as `XINFO GROUPS` reports it. */
interface GroupProgress {
  entriesRead: number;
  lag: number;
  pending: number;
}

/** Reads a reply entry that is a flat `[k, v, …]` list, a Map, or a plain object. */
function recordOf(raw: unknown): Record<string, unknown> {
  if (Array.isArray(raw)) {
    const record: Record<string, unknown> = {};
    for (let i = 0; i + 1 < raw.length; i += 2) record[String(raw[i])] = raw[i + 1];
    return record;
  }
  if (raw instanceof Map) return Object.fromEntries(raw);
  return (raw ?? {}) as Record<string, unknown>;
}

async function progressOf(
  client: Client,
  stream: string,
  group: string,
): Promise<GroupProgress | undefined> {
  const groups = (await client.sendCommand("XINFO", "GROUPS", stream)) as unknown[];
  for (const raw of groups ?? []) {
    const info = recordOf(raw);
    if (info.name !== group) continue;
    return {
      entriesRead: Number(info["entries-read"] ?? 0),
      lag: Number(info.lag ?? 0),
      pending: Number(info.pending ?? 0),
    };
  }
  return undefined;
}

/** The exports of a per-service throughput script. */
export interface ServiceThroughputTest {
  options: Options;
  setup(): Promise<void>;
  feed(): Promise<void>;
  observe(): Promise<void>;
}

/** Builds the throughput test of one service (its group is named after it). */
export function serviceThroughputTest(service: ServiceUnderTest): ServiceThroughputTest {
  const stream = streamKey(INPUT_OF[service]);
  const client = new Client(REDIS_URL);
  let last: (GroupProgress & { at: number }) | undefined;
  let drainedAt: number | undefined;

  return {
    options: {
      scenarios: {
        feed: {
          executor: "constant-arrival-rate",
          exec: "feed",
          rate: Math.max(1, Math.round(RATE / BATCH)),
          timeUnit: "1s",
          duration: `${DURATION}s`,
          preAllocatedVUs: 20,
          maxVUs: 200,
        },
        observe: {
          executor: "constant-vus",
          exec: "observe",
          vus: 1,
          duration: `${DURATION + DRAIN_SECONDS}s`,
        },
      },
      thresholds: {
        // The gauge's last value counts: the service must have caught up by the end.
        conveyor_group_lag: [`value<${ALLOWED_LAG}`],
        "checks{step:xadd}": ["rate>0.999"],
      },
      summaryTrendStats: ["avg", "min", "med", "p(90)", "max"],
    },

    async setup() {
      const progress = await progressOf(client, stream, service).catch(() => undefined);
      if (!progress) {
        throw new Error(
          `no consumer group "${service}" on ${stream}: start the ${service} service (same REDIS_URL and STREAM_PREFIX) first`,
        );
      }
      if (service === "inventory") {
        // Every entry orders one unit: stock for the whole run, so nothing is rejected.
        const skus = await client.smembers(SKUS_KEY);
        for (const sku of skus) await client.hincrby(STOCK_KEY, sku, Math.ceil(RATE * DURATION));
      }
    },

    async feed() {
      const first = exec.scenario.iterationInTest * BATCH;
      const adds: Array<Promise<unknown>> = [];
      for (let i = 0; i < BATCH; i += 1) {
        adds.push(client.sendCommand("XADD", stream, "*", ...inputEntry(service, first + i)));
      }
      const results = await Promise.allSettled(adds);
      const ok = results.filter((result) => result.status === "fulfilled").length;
      added.add(ok);
      check(ok, { "XADD accepted": (count) => count === BATCH }, { step: "xadd" });
    },

    async observe() {
      const progress = await progressOf(client, stream, service);
      const now = Date.now();
      if (progress) {
        lagGauge.add(progress.lag);
        pendingGauge.add(progress.pending);
        if (last) {
          // Finished = read and acknowledged: what was read, less what is still pending.
          const done = progress.entriesRead - progress.pending - (last.entriesRead - last.pending);
          const seconds = (now - last.at) / 1000;
          if (done >= 0 && seconds > 0) {
            processed.add(done);
            if (done > 0 || progress.lag > 0) processedPerSecond.add(done / seconds);
          }
        }
        last = { ...progress, at: now };
        const isFeeding = exec.instance.currentTestRunDuration < DURATION * 1000;
        if (!isFeeding && drainedAt === undefined && progress.lag === 0 && progress.pending === 0) {
          drainedAt = now;
          console.log(
            `${service}: caught up ${((exec.instance.currentTestRunDuration - DURATION * 1000) / 1000).toFixed(1)} s after the feed stopped`,
          );
        }
      }
      sleep(1);
    },
  };
}
