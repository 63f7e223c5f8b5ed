import { setTimeout as sleep } from "node:timers/promises";
import { Cluster, Redis, type RedisOptions } from "ioredis";

/** A connection to a single Redis or to a Redis Cluster: every deployable works with both. */
export type RedisClient = Redis | Cluster;

/**
 * How a connection is used: blocking reads need their own connection and no command timeout;
 * a library that loads scripts with ioredis's `defineCommand` needs one without automatic
 * pipelining (see below).
 */
export type ConnectionRole = "commands" | "blocking" | "unpipelined";

/** Where Redis is: a URL, and with a cluster its seed nodes (the URL then gives only credentials and TLS). */
export interface RedisTarget {
  /** `redis://` or `rediss://` (TLS), password included. */
  url: string;
  /** Seed nodes of a Redis Cluster (`REDIS_CLUSTER_NODES`); a single Redis when absent. */
  clusterNodes?: readonly { host: string; port: number }[] | undefined;
}

/** Parses `REDIS_CLUSTER_NODES` (`host:port,host:port`), or undefined when it is empty. */
export function parseClusterNodes(value: string | undefined): RedisTarget["clusterNodes"] {
  const nodes = (value ?? "")
    .split(",")
    .map((node) => node.trim())
    .filter(Boolean)
    .map((node) => {
      const match = /^(.+):(\d{1,5})$/.exec(node);
      if (!match) throw new Error(`REDIS_CLUSTER_NODES: expected host:port, got ${node}`);
      return { host: match[1] as string, port: Number(match[2]) };
    });
  return nodes.length > 0 ? nodes : undefined;
}

/**
 * Opens a connection to a single Redis (a target or just its URL) or, when the target names cluster nodes, to a Redis
 * Cluster through ioredis's `Cluster` client, which follows MOVED and ASK redirections and
 * refreshes its slot map after a failover.
 *
 * A `commands` connection pipelines automatically: the commands issued in one tick (the
 * handlers and commits of a read batch) share one socket write per node, which is most of a
 * service's CPU otherwise. Scripts run as plain `EVALSHA` (see `defineScript`), never ioredis's
 * `defineCommand`, whose loading inside an automatic pipeline can misalign replies
 * (redis/ioredis#1931). A `blocking` connection waits through reconnects instead of failing.
 */
export function createRedis(
  where: RedisTarget | string,
  role: ConnectionRole,
  name: string,
): RedisClient {
  const target = typeof where === "string" ? { url: where } : where;
  const options = {
    connectionName: `${name}:${role}`,
    retryStrategy: reconnectDelayMs,
    ...(role === "blocking" ? { maxRetriesPerRequest: null } : { maxRetriesPerRequest: 3 }),
    enableAutoPipelining: role === "commands",
  };
  if (!target.clusterNodes) return new Redis(target.url, options);
  return new Cluster([...target.clusterNodes], {
    redisOptions: { ...options, ...credentialsOf(target.url) },
    enableAutoPipelining: role === "commands",
    clusterRetryStrategy: reconnectDelayMs,
    // A command sent during a failover is retried until a replica takes over (cluster-node-timeout).
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 100,
    maxRedirections: 32,
    // After a failover, an automatic pipeline holding commands of two slots of the old master is
    // answered MOVED per slot, which ioredis neither redirects nor learns the new route from
    // (redis/ioredis#2075): under steady load every batch to that shard would fail for good.
    // Refreshing the slot map every second bounds that to about a second.
    slotsRefreshInterval: 1_000,
  });
}

/** The password, user name and TLS choice a URL carries, for the nodes of a cluster. */
function credentialsOf(url: string): Pick<RedisOptions, "password" | "username" | "tls"> {
  const parsed = new URL(url);
  // Spread in only when present: the options are exact, so an undefined password is an error.
  return {
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.protocol === "rediss:" ? { tls: {} } : {}),
  };
}

/** The seed node (or the single server) a client talks to, for telemetry's `server.*`. */
export function serverOf(target: RedisTarget): { host: string; port: number } {
  const [seed] = target.clusterNodes ?? [];
  if (seed) return seed;
  const url = new URL(target.url);
  return { host: url.hostname || "127.0.0.1", port: Number(url.port || 6379) };
}

/**
 * How long to wait before reconnection attempt `times`: ioredis's backoff, capped at 500 ms
 * instead of 2 s. A command waits for up to `maxRetriesPerRequest` attempts, so in a long Redis
 * outage a client learns within about 1.5 s, not 6 s per command, and every app is back within
 * half a second of Redis.
 */
function reconnectDelayMs(times: number): number {
  return Math.min(times * 50, 500);
}

/**
 * Whether an error is Redis saying a consumer group (or its stream) does not exist. A read
 * blocked on a stream that gets deleted is answered `UNBLOCKED the stream key no longer exists`.
 */
export function isNoGroupError(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error.message.startsWith("NOGROUP") || error.message.startsWith("UNBLOCKED the stream key"))
  );
}

/**
 * Whether an error is a blocked read ended by a failover: a master that becomes a replica ends
 * its blocked clients with `UNBLOCKED force unblock …`. Expected in a cluster; read again at once.
 */
export function isUnblockedByFailover(error: unknown): boolean {
  return (
    error instanceof Error &&
    error.message.startsWith("UNBLOCKED") &&
    !error.message.startsWith("UNBLOCKED the stream key")
  );
}

/** Whether an error is Redis saying a consumer group already exists. */
export function isBusyGroupError(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith("BUSYGROUP");
}

/** Turns a flat `[key, value, …]` reply (or a map) into a record. */
export function replyToRecord(reply: unknown): Record<string, unknown> {
  if (reply instanceof Map) return Object.fromEntries(reply);
  if (!Array.isArray(reply)) return (reply ?? {}) as Record<string, unknown>;
  const record: Record<string, unknown> = {};
  for (let i = 0; i + 1 < reply.length; i += 2) record[String(reply[i])] = reply[i + 1];
  return record;
}

/**
 * Closes a connection politely (QUIT lets pending replies arrive), but never waits more than
 * `timeoutMs` for a Redis that is down: then it just drops the socket.
 */
export async function closeRedis(redis: RedisClient, timeoutMs = 1_000): Promise<void> {
  const hasQuit = await Promise.race([
    redis.quit().then(
      () => true,
      () => false,
    ),
    sleep(timeoutMs, false),
  ]);
  if (!hasQuit) redis.disconnect();
}
