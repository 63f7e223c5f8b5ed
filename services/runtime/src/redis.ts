import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";

/** How a connection is used: blocking reads need their own connection and no command timeout. */
export type ConnectionRole = "commands" | "blocking";

/**
 * Opens a Redis connection from a URL (`redis://` or `rediss://` for TLS, password included).
 *
 * A `commands` connection pipelines automatically: the commands issued in one tick (the
 * handlers and commits of a read batch) share one socket write, which is most of a service's CPU
 * otherwise. Scripts run as plain `EVALSHA` (see `defineScript`), never ioredis's
 * `defineCommand`, whose loading inside an automatic pipeline can misalign replies
 * (redis/ioredis#1931). A `blocking` connection waits through reconnects instead of failing.
 */
export function createRedis(url: string, role: ConnectionRole, name: string): Redis {
  const connectionName = `${name}:${role}`;
  const common = { connectionName, retryStrategy: reconnectDelayMs };
  if (role === "blocking") return new Redis(url, { ...common, maxRetriesPerRequest: null });
  return new Redis(url, { ...common, maxRetriesPerRequest: 3, enableAutoPipelining: true });
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
export async function closeRedis(redis: Redis, timeoutMs = 1_000): Promise<void> {
  const hasQuit = await Promise.race([
    redis.quit().then(
      () => true,
      () => false,
    ),
    sleep(timeoutMs, false),
  ]);
  if (!hasQuit) redis.disconnect();
}
