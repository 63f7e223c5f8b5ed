import {
  createKeys,
  type EventEnvelope,
  type EventOf,
  type EventType,
  type Keys,
} from "@conveyor/contract";
import { Cluster, Redis } from "ioredis";
import { inject, onTestFinished } from "vitest";
import { type ServiceProcess, spawnService } from "./process.ts";
import { pendingCount, publishEvent, readDeadLetters, readEvents } from "./streams.ts";
import { uniquePrefix } from "./wait.ts";

/** What {@link TestSystem.spawn} starts: a service's entry file and its settings. */
export interface WorkerSpec {
  name: string;
  /** Absolute path of the service's `main.ts`. */
  entry: string;
  /** Settings on top of the system's (`REDIS_URL`, `STREAM_PREFIX`, quiet logs, no trimming). */
  env?: Record<string, string>;
}

/** Where a test system's data lives: the run's Redis by default, or a Redis Cluster. */
export interface TestSystemOptions {
  /** Seed nodes of a cluster (`host:port,…`, as `REDIS_CLUSTER_NODES`). */
  clusterNodes?: string;
  /** `STREAM_PARTITIONS` of every process. Default 1. */
  partitions?: number;
}

/** One test's own slice of the system: a key prefix on the run's Redis, and its processes. */
export interface TestSystem {
  readonly redisUrl: string;
  readonly prefix: string;
  readonly keys: Keys;
  /** A connection for the test's own reads and writes (a cluster client on a cluster). */
  readonly redis: Redis | Cluster;
  /** The settings that point a process at this system's Redis, its partitions and prefix. */
  readonly env: Readonly<Record<string, string>>;
  /** Starts a service process on this system and resolves once it is ready. */
  spawn(spec: WorkerSpec): Promise<ServiceProcess>;
  /** Adds an event to its stream, as its producer would. */
  publish(event: EventEnvelope): Promise<string>;
  /** Every event on a stream, oldest first. */
  events<T extends EventType>(type: T): Promise<Array<EventOf<T>>>;
  /** The dead-letter stream's entries, oldest first. */
  deadLetters(): Promise<Array<Record<string, string>>>;
  /** Entries of a stream that a group has read but not yet acknowledged. */
  pending(type: EventType, group: string): Promise<number>;
}

/**
 * Gives the running test its own system. Every process it spawns is killed, and the connection
 * closed, when the test finishes, pass or fail; on failure the processes' logs are printed.
 */
export function createTestSystem(label: string, options: TestSystemOptions = {}): TestSystem {
  const redisUrl = inject("redisUrl");
  const prefix = uniquePrefix(label);
  const partitions = options.partitions ?? 1;
  const keys = createKeys(prefix, partitions);
  const redis = options.clusterNodes
    ? new Cluster(options.clusterNodes.split(",").map(parseNode))
    : new Redis(redisUrl);
  const env: Record<string, string> = {
    REDIS_URL: redisUrl,
    STREAM_PREFIX: prefix,
    STREAM_PARTITIONS: String(partitions),
    ...(options.clusterNodes ? { REDIS_CLUSTER_NODES: options.clusterNodes } : {}),
  };
  const processes: ServiceProcess[] = [];
  onTestFinished(async (context) => {
    if (context.task.result?.state === "fail") {
      for (const service of processes) {
        console.error(`--- output of ${service.name}\n${service.output.join("")}`);
      }
    }
    await Promise.all(processes.map((service) => service.kill()));
    await redis.quit();
  });
  return {
    redisUrl,
    prefix,
    keys,
    redis,
    env,
    async spawn(spec) {
      const service = await spawnService({
        name: `${spec.name}#${processes.length + 1}`,
        entry: spec.entry,
        env: {
          ...env,
          LOG_LEVEL: "warn",
          // Trimming would remove the entries that tests read back to count events.
          TRIM_INTERVAL_MS: "3600000",
          ...spec.env,
        },
      });
      processes.push(service);
      await service.waitUntilReady();
      return service;
    },
    publish: (event) => publishEvent(redis, keys, event),
    events: (type) => readEvents(redis, keys, type),
    deadLetters: () => readDeadLetters(redis, keys),
    pending: async (type, group) => {
      const counts = await Promise.all(
        keys.partitions.map((partition) => pendingCount(redis, partition.stream(type), group)),
      );
      return counts.reduce((sum, count) => sum + count, 0);
    },
  };
}

function parseNode(node: string): { host: string; port: number } {
  const at = node.lastIndexOf(":");
  return { host: node.slice(0, at), port: Number(node.slice(at + 1)) };
}
