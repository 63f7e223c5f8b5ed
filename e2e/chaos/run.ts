/**
 * `npm run chaos`: the chaos soak. Places thousands of orders at a steady rate while apps are
 * SIGKILLed and restarted at random and Redis is killed and restarted from its AOF, then checks
 * that nothing was lost or done twice, prints the report, and exits 1 if any check failed.
 *
 *   npm run chaos                                  # 3,000 orders at 50/s, 2 Redis restarts
 *   npm run chaos -- --orders 500 --rate 25        # a quicker one
 *   npm run chaos -- --fsync everysec --seed 42    # Redis's default fsync policy; replay a seed
 *   npm run chaos -- --cluster --partitions 4      # on a Redis Cluster, with master failovers
 *
 * Loopback only: everything runs on this machine, on a private redis-server (or cluster) of its own.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { formatReport } from "./report.ts";
import { runSoak, SOAK_DEFAULTS } from "./soak.ts";

const { values } = parseArgs({
  options: {
    orders: { type: "string" },
    rate: { type: "string" },
    "redis-restarts": { type: "string" },
    cluster: { type: "boolean" },
    partitions: { type: "string" },
    failovers: { type: "string" },
    fsync: { type: "string" },
    "claim-idle-ms": { type: "string" },
    "max-deliveries": { type: "string" },
    "kill-every-ms": { type: "string" },
    "downtime-ms": { type: "string" },
    "drain-timeout-ms": { type: "string" },
    seed: { type: "string" },
    "log-dir": { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});

if (values.help) {
  console.log(`npm run chaos -- [options]
  --orders N             orders to place (default ${SOAK_DEFAULTS.orderCount})
  --rate N               orders per second (default ${SOAK_DEFAULTS.ratePerSecond})
  --redis-restarts N     times Redis is killed and restarted (default ${SOAK_DEFAULTS.redisRestarts})
  --cluster              on a Redis Cluster (3 masters, each with a replica) instead of one Redis
  --partitions N         STREAM_PARTITIONS (default ${SOAK_DEFAULTS.partitions}; 4 with --cluster)
  --failovers N          with --cluster: master failovers during the load (default ${SOAK_DEFAULTS.failovers})
  --fsync always|everysec  AOF fsync policy (default ${SOAK_DEFAULTS.appendFsync})
  --claim-idle-ms N      consumers' visibility timeout (default ${SOAK_DEFAULTS.claimIdleMs})
  --max-deliveries N     deliveries before dead-lettering (default ${SOAK_DEFAULTS.maxDeliveries})
  --kill-every-ms A-B    time between kills (default ${SOAK_DEFAULTS.killEveryMs.join("-")})
  --downtime-ms A-B      how long a killed app stays down (default ${SOAK_DEFAULTS.downtimeMs.join("-")})
  --drain-timeout-ms N   time allowed to finish every order (default ${SOAK_DEFAULTS.drainTimeoutMs})
  --seed N               random seed (default: from the clock; printed in the report)
  --log-dir DIR          keep every process's output there (default .data/chaos/<time>)`);
  process.exit(0);
}

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number < 0) {
    console.error(`--${name} must be a non-negative number, got ${value}`);
    process.exit(2);
  }
  return number;
}

function range(name: string, value: string | undefined, fallback: readonly [number, number]) {
  if (value === undefined) return fallback;
  const [min, max] = value.split("-").map(Number);
  if (min === undefined || max === undefined || !(min >= 0 && max >= min)) {
    console.error(`--${name} must look like 1000-3000, got ${value}`);
    process.exit(2);
  }
  return [min, max] as const;
}

const fsync = values.fsync ?? SOAK_DEFAULTS.appendFsync;
if (fsync !== "always" && fsync !== "everysec") {
  console.error(`--fsync must be always or everysec, got ${fsync}`);
  process.exit(2);
}
const logDir =
  values["log-dir"] ??
  join(
    import.meta.dirname,
    "..",
    "..",
    ".data",
    "chaos",
    new Date().toISOString().replace(/[:.]/g, "-"),
  );
await mkdir(logDir, { recursive: true });

const command = `npm run chaos -- ${process.argv.slice(2).join(" ")}`.trim();
const startedAt = Date.now();
const result = await runSoak({
  ...SOAK_DEFAULTS,
  orderCount: positive("orders", values.orders, SOAK_DEFAULTS.orderCount),
  ratePerSecond: positive("rate", values.rate, SOAK_DEFAULTS.ratePerSecond),
  redisRestarts: positive("redis-restarts", values["redis-restarts"], SOAK_DEFAULTS.redisRestarts),
  isCluster: values.cluster === true,
  partitions: positive(
    "partitions",
    values.partitions,
    values.cluster ? 4 : SOAK_DEFAULTS.partitions,
  ),
  failovers: positive("failovers", values.failovers, SOAK_DEFAULTS.failovers),
  appendFsync: fsync,
  claimIdleMs: positive("claim-idle-ms", values["claim-idle-ms"], SOAK_DEFAULTS.claimIdleMs),
  maxDeliveries: positive("max-deliveries", values["max-deliveries"], SOAK_DEFAULTS.maxDeliveries),
  killEveryMs: range("kill-every-ms", values["kill-every-ms"], SOAK_DEFAULTS.killEveryMs),
  downtimeMs: range("downtime-ms", values["downtime-ms"], SOAK_DEFAULTS.downtimeMs),
  drainTimeoutMs: positive(
    "drain-timeout-ms",
    values["drain-timeout-ms"],
    SOAK_DEFAULTS.drainTimeoutMs,
  ),
  seed: positive("seed", values.seed, Date.now() % 1_000_000),
  logDir,
  log: (line) =>
    console.log(`[${((Date.now() - startedAt) / 1000).toFixed(1).padStart(6)} s] ${line}`),
});
console.log(formatReport(result));
console.log(`\ncommand: ${command}\nprocess logs: ${logDir}`);
process.exit(result.ok ? 0 : 1);
