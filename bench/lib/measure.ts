import { readFile } from "node:fs/promises";
import type { Redis } from "ioredis";

/** Latency percentiles in milliseconds (NaN when there were no samples). */
export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles of a list of durations in milliseconds. */
export function percentiles(samples: readonly number[]): Percentiles {
  if (samples.length === 0) {
    return { count: 0, p50: Number.NaN, p90: Number.NaN, p99: Number.NaN, max: Number.NaN };
  }
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return {
    count: sorted.length,
    p50: at(0.5) as number,
    p90: at(0.9) as number,
    p99: at(0.99) as number,
    max: sorted[sorted.length - 1] as number,
  };
}

const CLOCK_TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used so far, from `/proc/<pid>/stat`. */
export async function processCpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may contain spaces: fields are counted after its closing paren.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / CLOCK_TICKS_PER_SECOND;
}

/** A Redis server's counters at one moment: CPU seconds and calls per command. */
export interface RedisSample {
  atMs: number;
  cpuSeconds: number;
  calls: Map<string, number>;
  /** `total_commands_processed` (INFO stats): every command the server ran, INFO included. */
  commandsProcessed: number;
}

/** Reads `INFO cpu`, `INFO commandstats` and `INFO stats`. */
export async function sampleRedis(redis: Redis): Promise<RedisSample> {
  const [cpu, stats, counters] = await Promise.all([
    redis.info("cpu"),
    redis.info("commandstats"),
    redis.info("stats"),
  ]);
  const value = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(cpu)?.[1] ?? 0);
  const calls = new Map<string, number>();
  for (const match of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    calls.set(match[1] as string, Number(match[2]));
  }
  return {
    atMs: performance.now(),
    cpuSeconds: value("used_cpu_user") + value("used_cpu_sys"),
    calls,
    commandsProcessed: Number(/total_commands_processed:(\d+)/.exec(counters)?.[1] ?? 0),
  };
}

/** What Redis did between two samples. */
export interface RedisDelta {
  /** Share of one core Redis used, in percent. */
  cpuPercent: number;
  /** Commands per second, all commands (`INFO commandstats`, INFO itself left out). */
  commandsPerSecond: number;
  /** Commands per second by `total_commands_processed` (`INFO stats`). */
  commandsProcessedPerSecond: number;
  /** Commands per second by command name, busiest first. */
  byCommand: Record<string, number>;
}

/** Rates between two {@link sampleRedis} samples. The sampling's own INFO calls are left out. */
export function redisDelta(before: RedisSample, after: RedisSample): RedisDelta {
  const seconds = (after.atMs - before.atMs) / 1000;
  const byCommand: Record<string, number> = {};
  let total = 0;
  const rows: Array<[string, number]> = [];
  for (const [name, calls] of after.calls) {
    if (name === "info") continue;
    const delta = calls - (before.calls.get(name) ?? 0);
    if (delta <= 0) continue;
    rows.push([name, delta / seconds]);
    total += delta;
  }
  rows.sort((a, b) => b[1] - a[1]);
  for (const [name, rate] of rows) byCommand[name] = Math.round(rate);
  return {
    cpuPercent: ((after.cpuSeconds - before.cpuSeconds) / seconds) * 100,
    commandsPerSecond: total / seconds,
    commandsProcessedPerSecond: (after.commandsProcessed - before.commandsProcessed) / seconds,
    byCommand,
  };
}

/** What several servers (a cluster's masters) did together over the same interval. */
export function sumRedisDeltas(deltas: readonly RedisDelta[]): RedisDelta {
  const byCommand: Record<string, number> = {};
  for (const delta of deltas) {
    for (const [name, rate] of Object.entries(delta.byCommand)) {
      byCommand[name] = (byCommand[name] ?? 0) + rate;
    }
  }
  const sum = (pick: (delta: RedisDelta) => number) =>
    deltas.reduce((total, delta) => total + pick(delta), 0);
  return {
    cpuPercent: sum((delta) => delta.cpuPercent),
    commandsPerSecond: sum((delta) => delta.commandsPerSecond),
    commandsProcessedPerSecond: sum((delta) => delta.commandsProcessedPerSecond),
    byCommand: Object.fromEntries(Object.entries(byCommand).sort((a, b) => b[1] - a[1])),
  };
}

/** Rounds for display and JSON: integers above 100, one decimal below. */
export function round(value: number): number {
  if (!Number.isFinite(value)) return value;
  return Math.abs(value) >= 100 ? Math.round(value) : Math.round(value * 10) / 10;
}

/** CPU seconds used so far by each named process (and `bench`, this process). */
export type CpuSnapshot = Record<string, number>;

/** Reads the CPU seconds of named processes, of Redis (`INFO cpu`) and of the bench itself. */
export async function cpuSnapshot(
  pids: Readonly<Record<string, number | undefined>>,
  redis: Redis,
): Promise<CpuSnapshot> {
  const snapshot: CpuSnapshot = {};
  for (const [name, pid] of Object.entries(pids)) {
    if (pid !== undefined) snapshot[name] = await processCpuSeconds(pid).catch(() => Number.NaN);
  }
  snapshot.redis = (await sampleRedis(redis)).cpuSeconds;
  const own = process.cpuUsage();
  snapshot.bench = (own.user + own.system) / 1e6;
  return snapshot;
}

/** CPU milliseconds each process spent per unit of work between two snapshots. */
export function cpuMsPer(before: CpuSnapshot, after: CpuSnapshot, units: number): CpuSnapshot {
  const perUnit: CpuSnapshot = {};
  for (const [name, seconds] of Object.entries(after)) {
    perUnit[name] = units > 0 ? ((seconds - (before[name] ?? 0)) * 1000) / units : Number.NaN;
  }
  return perUnit;
}
