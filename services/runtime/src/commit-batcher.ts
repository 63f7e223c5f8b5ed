import type { RedisClient } from "./redis.ts";
import {
  ackAndPublishMany,
  type EntryCommit,
  type EntryToAck,
  type StreamEntryToAdd,
} from "./scripts.ts";
import { createTickBatcher, hashTagOf } from "./tick-batcher.ts";

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

/**
 * Sends the commits issued in one turn of the event loop (a read batch's handlers finish
 * together) as one script call per hash slot ({@link ackAndPublishMany}): Redis runs one script
 * instead of one per entry. Each entry is still committed atomically and gated by its own XACK,
 * and each caller gets its own result: `false` if its entry was already acknowledged, an error
 * for its entry alone, or the call's error for every entry of a call that failed.
 */
export function createCommitBatcher(
  redis: RedisClient,
  options: CommitBatcherOptions = {},
): BatchedAckAndPublish {
  const commit = createTickBatcher<EntryCommit, boolean>(
    (commits) => ackAndPublishMany(redis, commits),
    {
      ...(options.maxEntries ? { maxItems: options.maxEntries } : {}),
      groupOf: (entry) => hashTagOf(entry.input.stream),
    },
  );
  return (input, outputs) => commit({ input, outputs });
}
