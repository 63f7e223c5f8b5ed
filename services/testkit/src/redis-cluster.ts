import { freePort, isPortFree } from "./ports.ts";
import {
  createCluster,
  type NodeReport,
  onNode,
  stateProblem,
  waitForCluster,
} from "./redis-cluster-admin.ts";
import { type RedisServer, type RedisServerOptions, startRedisServer } from "./redis-server.ts";

/** Options of {@link startRedisCluster}. */
export interface RedisClusterOptions {
  /** Masters, the slots spread evenly over them; Redis Cluster needs 3 or more. Default 3. */
  masters?: number;
  /** Replicas of each master: 1 for failover tests. Default 0. */
  replicasPerMaster?: 0 | 1;
  /**
   * How long a node may be unreachable before the others fail it and promote its replica. Short
   * by default (2000), so that a killed master's replica takes over within about 4 s.
   */
  nodeTimeoutMs?: number;
  /** Every node requires it (and its replica authenticates with it). */
  password?: string;
  /** Persist with AOF, for tests that kill and restart nodes. Default false. */
  isPersistent?: boolean;
  /** Bound on starting and forming the cluster. Default 30 s. */
  startTimeoutMs?: number;
}

/** A local Redis Cluster owned by a test: every node on free ports, with its own directory. */
export interface RedisCluster {
  /** Every node as `host:port,…`: the value of REDIS_CLUSTER_NODES (any live one seeds). */
  readonly nodes: string;
  /** The current master of each shard; shard 0 serves the lowest slots. */
  readonly masters: readonly RedisServer[];
  /** The current replica of each shard (`replicas[i]` replicates `masters[i]`); none without. */
  readonly replicas: readonly RedisServer[];
  /**
   * Promotes shard `shard`'s replica with `CLUSTER FAILOVER` (no write is lost: the master
   * pauses its clients until the replica has caught up), then waits until every node agrees on
   * the swapped roles; `masters[shard]` and `replicas[shard]` are then swapped too.
   */
  failover(shard: number): Promise<void>;
  /**
   * SIGKILLs shard `shard`'s master, as a crash would. With a replica, waits until the other
   * nodes have failed it and promoted the replica (about twice `nodeTimeoutMs`); the dead node is
   * then `replicas[shard]`, and its `start()` followed by {@link waitUntilSettled} brings it back
   * as the replica. Without one, returns at once and the cluster stays down (`CLUSTERDOWN`).
   */
  killMaster(shard: number): Promise<void>;
  /**
   * Waits until every running node says the cluster is up, sees `masters` and `replicas` in
   * their roles, and each running replica is in sync with its master.
   */
  waitUntilSettled(): Promise<void>;
  /** Stops every node and removes their directories. */
  stop(): Promise<void>;
}

interface Shard {
  master: RedisServer;
  replica: RedisServer | undefined;
}

/** Lines of each node's log added to an error message. */
const LOG_LINES_IN_ERRORS = 15;

const addressOf = (server: RedisServer) => `127.0.0.1:${server.port}`;

/**
 * Starts a Redis Cluster of local `redis-server`s (`masters × (1 + replicasPerMaster)` nodes)
 * and returns once every node agrees on who serves which slots and the replicas are in sync.
 * Requires `redis-server` and `redis-cli` (Debian: `apt-get install redis-server`).
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masterCount = options.masters ?? 3;
  const replicasPerMaster = options.replicasPerMaster ?? 0;
  if (!Number.isInteger(masterCount) || masterCount < 3)
    throw new Error(`a Redis Cluster needs at least 3 masters (asked for ${masterCount})`);
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 2000;
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const settleTimeoutMs = Math.max(15_000, 5 * nodeTimeoutMs);
  const serverOptions: RedisServerOptions = {
    cluster: { nodeTimeoutMs },
    ...(options.password ? { password: options.password } : {}),
    ...(options.isPersistent ? { isPersistent: true } : {}),
  };

  const servers: RedisServer[] = [];
  const withLogs = (error: unknown) =>
    new Error(
      [
        error instanceof Error ? error.message : String(error),
        ...servers.map(
          (server) =>
            `--- redis-server ${server.port}, last lines:\n${server.recentOutput().split("\n").slice(-LOG_LINES_IN_ERRORS).join("\n")}`,
        ),
      ].join("\n"),
    );
  const shards: Shard[] = [];
  const settled = async (description: string) => {
    const running = servers.filter((server) => server.isRunning).map(addressOf);
    await waitForCluster(
      running,
      (reports) => stateProblem(reports) ?? rolesProblem(reports, shards),
      {
        description,
        timeoutMs: settleTimeoutMs,
        password: options.password,
      },
    ).catch((error: unknown) => {
      throw withLogs(error);
    });
  };

  try {
    const taken = new Set<number>();
    const nodeCount = masterCount * (1 + replicasPerMaster);
    servers.push(
      ...(await Promise.all(
        Array.from({ length: nodeCount }, () => startClusterNode(serverOptions, taken)),
      )),
    );
    const deadline = Date.now() + startTimeoutMs;
    await createCluster(servers.map(addressOf), {
      replicasPerMaster,
      password: options.password,
      timeoutMs: startTimeoutMs,
    });
    // redis-cli pairs replicas with masters as it likes: read the pairs off the formed cluster.
    const reports = await waitForCluster(
      servers.map(addressOf),
      (reports) => {
        const found = shardsOf(reports[0], servers, masterCount, replicasPerMaster);
        return (
          stateProblem(reports) ??
          (typeof found === "string" ? found : rolesProblem(reports, found))
        );
      },
      {
        description: "the new cluster to agree on its masters and replicas",
        timeoutMs: Math.max(1000, deadline - Date.now()),
        password: options.password,
      },
    );
    const found = shardsOf(reports[0], servers, masterCount, replicasPerMaster);
    if (typeof found === "string") throw new Error(found);
    shards.push(...found);
  } catch (error) {
    const failure = withLogs(error);
    await Promise.all(servers.map((server) => server.stop()));
    throw failure;
  }

  return {
    nodes: servers.map(addressOf).join(","),
    get masters() {
      return shards.map((shard) => shard.master);
    },
    get replicas() {
      return shards.flatMap((shard) => (shard.replica ? [shard.replica] : []));
    },
    async failover(index) {
      const shard = shardAt(shards, index);
      const replica = shard.replica;
      if (!replica) throw new Error(`shard ${index} has no replica to fail over to`);
      await onNode(addressOf(replica), options.password, (redis) =>
        redis.call("CLUSTER", "FAILOVER"),
      );
      shards[index] = { master: replica, replica: shard.master };
      await settled(`the failover of shard ${index} to ${addressOf(replica)}`);
    },
    async killMaster(index) {
      const shard = shardAt(shards, index);
      await shard.master.kill();
      if (!shard.replica) return;
      shards[index] = { master: shard.replica, replica: shard.master };
      await settled(`${addressOf(shard.replica)} to take over from its killed master`);
    },
    waitUntilSettled: () => settled("the cluster to settle"),
    async stop() {
      await Promise.all(servers.map((server) => server.stop()));
    },
  };
}

function shardAt(shards: Shard[], index: number): Shard {
  const shard = shards[index];
  if (!shard) throw new Error(`no shard ${index}: the cluster has ${shards.length}`);
  return shard;
}

/**
 * Starts one node on a port whose cluster bus port (+10000, so below 55536) is free too; tries
 * other ports if another process took the one picked in the meantime.
 */
async function startClusterNode(
  options: RedisServerOptions,
  taken: Set<number>,
): Promise<RedisServer> {
  for (let attempt = 1; ; attempt += 1) {
    const port = await clusterPort(taken);
    try {
      return await startRedisServer({ ...options, port });
    } catch (error) {
      if (attempt >= 3) throw error;
    }
  }
}

async function clusterPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const port = await freePort();
    const busPort = port + 10_000;
    if (busPort > 65_535 || taken.has(port) || taken.has(busPort)) continue;
    if (!(await isPortFree(busPort))) continue;
    // Checked again: another node of this cluster may have taken either while we waited.
    if (taken.has(port) || taken.has(busPort)) continue;
    taken.add(port).add(busPort);
    return port;
  }
  throw new Error("found no free port whose cluster bus port (+10000) is free too");
}

/** The shards as one node's view has them, or what is missing from that view. */
function shardsOf(
  report: NodeReport | undefined,
  servers: RedisServer[],
  masterCount: number,
  replicasPerMaster: number,
): Shard[] | string {
  if (!report) return "no node answered";
  const serverAt = new Map(servers.map((server) => [addressOf(server), server]));
  const masters = report.nodes
    .filter((node) => node.flags.includes("master") && node.slots.length > 0)
    .sort((a, b) => Number.parseInt(a.slots[0] ?? "", 10) - Number.parseInt(b.slots[0] ?? "", 10));
  if (masters.length !== masterCount)
    return `${report.address} sees ${masters.length} masters serving slots, not ${masterCount}`;
  const shards: Shard[] = [];
  for (const master of masters) {
    const replicas = report.nodes.filter((node) => node.masterId === master.id);
    if (replicas.length !== replicasPerMaster)
      return `${report.address} sees ${replicas.length} replicas of ${master.address}, not ${replicasPerMaster}`;
    const server = serverAt.get(master.address);
    const replica = replicas[0] && serverAt.get(replicas[0].address);
    if (!server || (replicas[0] && !replica))
      return `${report.address} sees nodes that are not ours: ${master.address} and its replicas`;
    shards.push({ master: server, replica });
  }
  return shards;
}

/**
 * What disagrees with `shards` in these reports, if anything: a running node seen in another
 * role, or failing; a replica not (yet) in sync with its master.
 */
function rolesProblem(reports: NodeReport[], shards: Shard[]): string | undefined {
  for (const report of reports) {
    const entryOf = (server: RedisServer) =>
      report.nodes.find((node) => node.address === addressOf(server));
    for (const { master, replica } of shards) {
      const masterEntry = entryOf(master);
      for (const server of [master, replica])
        if (server?.isRunning && entryOf(server)?.flags.some((flag) => flag.startsWith("fail")))
          return `${report.address} sees ${addressOf(server)} failing`;
      if (
        master.isRunning &&
        (!masterEntry?.flags.includes("master") || masterEntry.slots.length === 0)
      )
        return `${report.address} does not see ${addressOf(master)} as a master with slots`;
      if (replica?.isRunning) {
        const replicaEntry = entryOf(replica);
        if (!replicaEntry?.flags.includes("slave") || replicaEntry.masterId !== masterEntry?.id)
          return `${report.address} does not see ${addressOf(replica)} as the replica of ${addressOf(master)}`;
        if (report.address === addressOf(replica)) {
          const { master_port, master_link_status, master_sync_in_progress } = report.replication;
          if (
            master_port !== String(master.port) ||
            master_link_status !== "up" ||
            master_sync_in_progress !== "0"
          )
            return `${report.address} is not in sync with ${addressOf(master)} (master_port:${master_port}, master_link_status:${master_link_status})`;
        }
      }
    }
  }
  return undefined;
}
