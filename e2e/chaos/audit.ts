import { setTimeout as sleep } from "node:timers/promises";
import {
  decodeEvent,
  EVENT_TYPES,
  type EventEnvelope,
  type EventType,
  fieldsToRecord,
  type Keys,
} from "@conveyor/contract";
import type { Redis } from "ioredis";

/** The consumer group the audit holds on every stream, so that trimming waits for it. */
export const AUDIT_GROUP = "chaos-audit";

/** One entry of an event stream, as the audit saw it. */
export interface AuditedEntry {
  stream: EventType;
  entryId: string;
  /** The event, or undefined for an entry that is not a valid event (an injected one). */
  event: EventEnvelope | undefined;
}

/** Every entry ever added to the event streams, read before trimming could remove it. */
export interface AuditTail {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly entries: readonly AuditedEntry[];
  /** Whether the audit has read everything up to each stream's last entry now. */
  isCaughtUp(): Promise<boolean>;
}

type ReadReply = Array<[stream: string, entries: Array<[id: string, fields: string[]]>]> | null;

/**
 * Tails every event stream with `XREAD` from its start, and moves a consumer group of its own to
 * what it has read (`XGROUP SETID`). The streams are trimmed by their groups' progress while the
 * soak runs, so the audit's group keeps each entry in Redis until the audit has it; the checks
 * then count events per order on the streams although the streams themselves stay short.
 *
 * `blocking` must wait through Redis restarts (`maxRetriesPerRequest: null`): a read whose reply
 * was lost is sent again from the same positions, so no entry is skipped.
 */
export function createAuditTail(blocking: Redis, commands: Redis, keys: Keys): AuditTail {
  const streams = EVENT_TYPES.map((type) => keys.partition(0).stream(type));
  const typeOf = new Map<string, EventType>(
    EVENT_TYPES.map((type) => [keys.partition(0).stream(type), type]),
  );
  const positions = new Map<string, string>(streams.map((stream) => [stream, "0-0"]));
  const groupPositions = new Map<string, string>(streams.map((stream) => [stream, "0-0"]));
  const entries: AuditedEntry[] = [];
  let isStopping = false;
  let loop: Promise<void> | undefined;

  async function moveGroup(): Promise<void> {
    for (const stream of streams) {
      const position = positions.get(stream) as string;
      if (position === groupPositions.get(stream)) continue;
      await commands.xgroup("SETID", stream, AUDIT_GROUP, position);
      groupPositions.set(stream, position);
    }
  }

  async function read(): Promise<void> {
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
        await sleep(200);
        continue;
      }
      for (const [stream, streamEntries] of reply ?? []) {
        const type = typeOf.get(stream) as EventType;
        for (const [entryId, flat] of streamEntries) {
          const decoded = decodeEvent(fieldsToRecord(flat ?? []));
          entries.push({ stream: type, entryId, event: decoded.ok ? decoded.event : undefined });
          positions.set(stream, entryId);
        }
      }
      await moveGroup().catch(() => {});
    }
  }

  return {
    entries,
    async start() {
      for (const stream of streams) {
        await commands.xgroup("CREATE", stream, AUDIT_GROUP, "0", "MKSTREAM").catch(() => {});
      }
      loop = read();
    },
    async stop() {
      isStopping = true;
      blocking.disconnect();
      await loop;
    },
    async isCaughtUp() {
      for (const stream of streams) {
        const [last] = await commands.xrevrange(stream, "+", "-", "COUNT", 1);
        if (last && last[0] !== positions.get(stream)) return false;
      }
      return true;
    },
  };
}
