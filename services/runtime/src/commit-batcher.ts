import type { Redis } from "ioredis";
import {
  ackAndPublishMany,
  type EntryCommit,
  type EntryToAck,
  type StreamEntryToAdd,
} from "./scripts.ts";

/** Commits entries like {@link ackAndPublish}, sharing script calls with other commits. */
export type BatchedAckAndPublish = (
  input: EntryToAck,
  outputs: readonly StreamEntryToAdd[],
) => Promise<boolean>;

/** Options of {@link createCommitBatcher}. */
export interface CommitBatcherOptions {
  /** Most entries one script call commits, so that no call holds Redis for long. Default 100. */
  maxEntries?: number;
}

interface Queued extends EntryCommit {
  resolve(isPublished: boolean): void;
  reject(error: Error): void;
}

/**
 * Collects the commits issued in one turn of the event loop (the handlers of a read batch finish
 * together, their replies arriving in the same socket reads) and sends them as one script call
 * per hash slot ({@link ackAndPublishMany}): Redis runs one script instead of one per entry.
 * Each entry is still committed atomically and gated by its own XACK, and each caller gets its
 * own result: `false` if its entry was already acknowledged, an error for its entry alone, or
 * the call's error for every entry of a call that failed.
 */
export function createCommitBatcher(
  redis: Redis,
  options: CommitBatcherOptions = {},
): BatchedAckAndPublish {
  const { maxEntries = 100 } = options;
  let queue: Queued[] = [];

  async function send(commits: Queued[]): Promise<void> {
    try {
      const replies = await ackAndPublishMany(redis, commits);
      commits.forEach((commit, index) => {
        const reply = replies[index];
        if (reply instanceof Error) commit.reject(reply);
        else if (reply === undefined) commit.reject(new Error("no reply for this commit"));
        else commit.resolve(reply);
      });
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      for (const commit of commits) commit.reject(failure);
    }
  }

  function flush(): void {
    const slots = new Map<string, Queued[]>();
    for (const commit of queue) {
      const slot = hashTagOf(commit.input.stream);
      const commits = slots.get(slot);
      if (commits) commits.push(commit);
      else slots.set(slot, [commit]);
    }
    queue = [];
    for (const commits of slots.values()) {
      for (let start = 0; start < commits.length; start += maxEntries) {
        void send(commits.slice(start, start + maxEntries));
      }
    }
  }

  return (input, outputs) =>
    new Promise<boolean>((resolve, reject) => {
      // setImmediate, not a microtask: it runs after every handler woken by the same socket
      // read has reached its commit.
      if (queue.length === 0) setImmediate(flush);
      queue.push({ input, outputs, resolve, reject });
    });
}

/**
 * The part of a key Redis Cluster hashes: the first non-empty `{…}`, else the whole key. An
 * entry's keys share its input stream's tag (see `createKeys`), so grouping by it keeps each
 * script call within one slot.
 */
export function hashTagOf(key: string): string {
  const open = key.indexOf("{");
  if (open === -1) return key;
  const close = key.indexOf("}", open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}
