/**
 * Forming and watching a Redis Cluster of local `redis-server`s: what the test fixture
 * (`redis-cluster.ts`) and `npm start -- --cluster` share.
 */
import { spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { stripVTControlCharacters } from "node:util";
import { Redis } from "ioredis";

/** The slots of a Redis Cluster; the cluster is whole when every one is served. */
export const SLOT_COUNT = 16_384;

/** One line of `CLUSTER NODES`: a node as the node asked sees it. */
export interface ClusterNodeEntry {
  id: string;
  /** `host:port` of its clients' port. */
  address: string;
  /** `myself`, `master`, `slave`, `fail?`, `fail`, `handshake`, … */
  flags: string[];
  /** The id of the master it replicates; undefined for a master. */
  masterId: string | undefined;
  /** The slot ranges it serves (`0-5460`, `42`). */
  slots: string[];
}

/** What one node says about the cluster, and about its own replication. */
export interface NodeReport {
  address: string;
  /** `CLUSTER INFO`, field by field (`cluster_state`, `cluster_known_nodes`, …). */
  info: Record<string, string>;
  nodes: ClusterNodeEntry[];
  /** `INFO replication`, field by field (`role`, `master_link_status`, …). */
  replication: Record<string, string>;
}

/** Parses `CLUSTER NODES` (`<id> <ip:port@bus[,hostname]> <flags> <master> … <slots…>`). */
export function parseClusterNodes(text: string): ClusterNodeEntry[] {
  return text
    .split("\n")
    .filter((line) => line.trim())
    .map((line) => {
      const [id = "", endpoint = "", flags = "", master = "-", , , , , ...slots] = line
        .trim()
        .split(" ");
      return {
        id,
        address: endpoint.split("@")[0] ?? "",
        flags: flags.split(","),
        masterId: master === "-" ? undefined : master,
        // Slots being migrated or imported are listed as `[slot->-id]`: not served yet.
        slots: slots.filter((slot) => !slot.startsWith("[")),
      };
    });
}

function parseFields(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split(/\r?\n/)
      .filter((line) => line.includes(":") && !line.startsWith("#"))
      .map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1)]),
  );
}

/** Splits `host:port`. */
export function parseAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(":");
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
}

/**
 * Runs `use` on a connection of its own to one node, which fails fast (1 s) rather than retry:
 * a node that does not answer is news to the caller.
 */
export async function onNode<T>(
  address: string,
  password: string | undefined,
  use: (redis: Redis) => Promise<T>,
): Promise<T> {
  const redis = new Redis({
    ...parseAddress(address),
    ...(password ? { password } : {}),
    lazyConnect: true,
    connectTimeout: 1000,
    commandTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on("error", () => {});
  try {
    await redis.connect();
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}

/** Asks one node what it knows. */
export async function reportOf(address: string, password?: string): Promise<NodeReport> {
  return onNode(address, password, async (redis) => {
    const [info, nodes, replication] = await Promise.all([
      redis.call("CLUSTER", "INFO"),
      redis.call("CLUSTER", "NODES"),
      redis.info("replication"),
    ]);
    return {
      address,
      info: parseFields(String(info)),
      nodes: parseClusterNodes(String(nodes)),
      replication: parseFields(replication),
    };
  });
}

/** Whether a node was never joined to a cluster: it knows only itself and serves no slot. */
export function isUnformed(report: NodeReport): boolean {
  return report.info.cluster_known_nodes === "1" && report.info.cluster_slots_assigned === "0";
}

/** Why these nodes do not all say the cluster is up with every slot served, if they do not. */
export function stateProblem(reports: NodeReport[]): string | undefined {
  for (const { address, info } of reports) {
    if (info.cluster_state !== "ok") return `${address} says cluster_state:${info.cluster_state}`;
    if (info.cluster_slots_ok !== String(SLOT_COUNT))
      return `${address} sees ${info.cluster_slots_ok} of ${SLOT_COUNT} slots served`;
  }
  return undefined;
}

/** Options of {@link waitForCluster}. */
export interface WaitForClusterOptions {
  /** What is awaited, for the timeout's message. */
  description: string;
  timeoutMs: number;
  password?: string | undefined;
}

/**
 * Asks every node for its report until `problemOf` finds nothing wrong with them (a node that
 * does not answer is a problem too), and returns those reports; fails after `timeoutMs` with the
 * last problem seen.
 */
export async function waitForCluster(
  addresses: string[],
  problemOf: (reports: NodeReport[]) => string | undefined,
  options: WaitForClusterOptions,
): Promise<NodeReport[]> {
  const deadline = Date.now() + options.timeoutMs;
  let problem = "no report yet";
  while (Date.now() < deadline) {
    const reports = await Promise.all(
      addresses.map((address) =>
        reportOf(address, options.password).catch(
          (error: Error) => `${address} does not answer: ${error.message}`,
        ),
      ),
    );
    const unanswered = reports.find((report) => typeof report === "string");
    const answered = reports.filter((report) => typeof report !== "string");
    const found = unanswered ?? problemOf(answered);
    if (found === undefined) return answered;
    problem = found;
    await sleep(100);
  }
  throw new Error(
    `timed out after ${options.timeoutMs} ms waiting for ${options.description}: ${problem}`,
  );
}

/** Options of {@link createCluster}. */
export interface CreateClusterOptions {
  /** Replicas given to each master; the first addresses become the masters. */
  replicasPerMaster: number;
  password?: string | undefined;
  timeoutMs: number;
}

/**
 * Joins unformed nodes into one cluster with `redis-cli --cluster create`: slots spread evenly
 * over the masters, each given its replicas. Fails with redis-cli's output if it fails or does
 * not finish in time (it waits for the nodes to meet, forever if their bus ports are blocked).
 */
export async function createCluster(
  addresses: string[],
  options: CreateClusterOptions,
): Promise<void> {
  const args = [
    "--cluster",
    "create",
    ...addresses,
    "--cluster-replicas",
    String(options.replicasPerMaster),
    "--cluster-yes",
  ];
  const child = spawn("redis-cli", args, {
    // Not on the command line, where any process could read it.
    env: { ...process.env, ...(options.password ? { REDISCLI_AUTH: options.password } : {}) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    output += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    output += chunk;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
  try {
    const status = await new Promise<string>((resolve, reject) => {
      child.once("error", (error) =>
        reject(new Error(`cannot run redis-cli (is it installed?): ${error.message}`)),
      );
      child.once("exit", (code, signal) =>
        resolve(signal ? `killed after ${options.timeoutMs} ms` : `exit code ${code}`),
      );
    });
    // Success ends with redis-cli's own check that every slot is served.
    if (status !== "exit code 0" || !output.includes("All 16384 slots covered"))
      throw new Error(
        `redis-cli --cluster create ${addresses.join(" ")} failed (${status}):\n${stripVTControlCharacters(output)}`,
      );
  } finally {
    clearTimeout(timer);
  }
}
