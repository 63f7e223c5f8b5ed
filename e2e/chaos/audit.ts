import { setTimeout as sleep } from "node:timers/promises";
import {
  decodeEvent,
  EVENT_TYPES,
  type EventEnvelope,
  type EventType,
  fieldsToRecord,
  type Keys,
  type PartitionKeys,
} from "@conveyor/contract";
import type { Cluster, Redis } from "ioredis";

/** The consumer group the audit holds on every stream, so that trimming waits for it. */
export const AUDIT_GROUP = "chaos-audit";

/** One entry of an event stream, as the audit saw it. */
export interface AuditedEntry {
  stream: EventType;
  /** The partition whose stream it was read from. */
  partition: number;
  entryId: string;
  /** The event, or undefined for an entry that is not a valid event (an injected one). */
  event: EventEnvelope | undefined;
}

/** Every entry ever added to the event streams, read before trimming could remove it. */
export interface AuditTail {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly entries: readonly AuditedEntry[];
  /** Reads that failed (Redis down, a node turned replica by a failover) and were sent again. */
  readonly retriedReads: number;
  /** Whether the audit has read everything up to each stream's last entry now. */
  isCaughtUp(): Promise<boolean>;
}

/** A connection to a single Redis or to a Redis Cluster. */
type Client = Redis | Cluster;

type ReadReply = Array<[stream: string, entries: Array<[id: string, fields: string[]]>]> | null;

/**
 * Tails every event stream of every partition with `XREAD` from its start, and moves a consumer
 * group of its own to what it has read (`XGROUP SETID`). The streams are trimmed by their
 * groups' progress while the soak runs, so the audit's group keeps each entry in Redis until the
 * audit has it; the checks then count events per order on the streams although the streams
 * themselves stay short.
 *
 * Each partition has its own reader on its own blocking connection from `openBlocking`: a
 * blocking read holds its connection, and in a Redis Cluster one read may only name keys of one
 * slot, which is what a partition is. The connections must wait through outages
 * (`maxRetriesPerRequest: null`): a read that failed (Redis restarting, a cluster node turned
 * replica by a failover, which unblocks its readers with an error) is sent again from the same
 * positions, and a cluster client follows the partition to its new master, so no entry is
 * skipped.
 */
export function createAuditTail(
  openBlocking: () => Client,
  commands: Client,
  keys: Keys,
): AuditTail {
  const typeOf = new Map<string, EventType>();
  for (const partition of keys.partitions) {
    for (const type of EVENT_TYPES) typeOf.set(partition.stream(type), type);
  }
  const allStreams = [...typeOf.keys()];
  const positions = new Map<string, string>(allStreams.map((stream) => [stream, "0-0"]));
  const groupPositions = new Map<string, string>(allStreams.map((stream) => [stream, "0-0"]));
  const entries: AuditedEntry[] = [];
  const connections: Client[] = [];
  let isStopping = false;
  let retriedReads = 0;
  let loops: Promise<void>[] = [];

  async function moveGroup(streams: readonly string[]): Promise<void> {
    for (const stream of streams) {
      const position = positions.get(stream) as string;
      if (position === groupPositions.get(stream)) continue;
      await commands.xgroup("SETID", stream, AUDIT_GROUP, position);
      groupPositions.set(stream, position);
    }
  }

  async function read(partition: PartitionKeys, blocking: Client): Promise<void> {
    const streams = EVENT_TYPES.map((type) => partition.stream(type));
    while (!isStopping) {
      let reply: ReadReply;
      try {
        reply = (await blocking.xread(
          "COUNT",
          1_000,
          "BLOCK",
          500,
          "STREAMS",
          ...streams,
          ...streams.map((stream) => positions.get(stream) as string),
        )) as ReadReply;
      } catch {
        if (isStopping) return;
        retriedReads += 1;
        await sleep(200);
        continue;
      }
      for (const [stream, streamEntries] of reply ?? []) {
        const type = typeOf.get(stream) as EventType;
        for (const [entryId, flat] of streamEntries) {
          const decoded = decodeEvent(fieldsToRecord(flat ?? []));
          entries.push({
            stream: type,
            partition: partition.index,
            entryId,
            event: decoded.ok ? decoded.event : undefined,
          });
          positions.set(stream, entryId);
        }
      }
      await moveGroup(streams).catch(() => {});
    }
  }

  return {
    entries,
    get retriedReads() {
      return retriedReads;
    },
    async start() {
      for (const stream of allStreams) {
        await commands.xgroup("CREATE", stream, AUDIT_GROUP, "0", "MKSTREAM").catch(() => {});
      }
      loops = keys.partitions.map((partition) => {
        const connection = openBlocking();
        connections.push(connection);
        return read(partition, connection);
      });
    },
    async stop() {
      isStopping = true;
      for (const connection of connections) connection.disconnect();
      await Promise.all(loops);
    },
    async isCaughtUp() {
      const lasts = await Promise.all(
        allStreams.map((stream) => commands.xrevrange(stream, "+", "-", "COUNT", 1)),
      );
      return allStreams.every((stream, index) => {
        const [last] = lasts[index] ?? [];
        return !last || last[0] === positions.get(stream);
      });
    },
  };
}
