import type { Keys, PartitionKeys } from "@conveyor/contract";
import {
  type Commit,
  createStreamConsumer,
  type StreamConsumer,
  type StreamConsumerOptions,
} from "./consumer.ts";
import { createLimiter } from "./limiter.ts";

/** Options of {@link createPartitionedConsumer}: a consumer's, over every partition. */
export interface PartitionedConsumerOptions<TOutcome>
  extends Omit<StreamConsumerOptions<TOutcome>, "keys" | "commit" | "limiter"> {
  keys: Keys;
  /** The commit of one partition's entries: its outputs go to that partition's streams. */
  commitFor(partition: PartitionKeys): Commit<TOutcome>;
}

/**
 * One consumer group member over every partition of the pipeline: a stream consumer per
 * partition (its own blocking read, claims, leases and dead letters, all in the partition's
 * slot), sharing one bound on the entries in flight, so `concurrency` stays per process. Every
 * replica reads every partition; the group spreads each partition's entries over replicas.
 */
export function createPartitionedConsumer<TOutcome>(
  options: PartitionedConsumerOptions<TOutcome>,
): StreamConsumer {
  const { keys, commitFor, ...shared } = options;
  const limiter = createLimiter(options.concurrency ?? 64);
  const consumers = keys.partitions.map((partition) =>
    createStreamConsumer({ ...shared, keys: partition, commit: commitFor(partition), limiter }),
  );
  return {
    get isRunning() {
      return consumers.every((consumer) => consumer.isRunning);
    },
    get inFlight() {
      return limiter.inFlight;
    },
    async ensureGroups() {
      for (const consumer of consumers) await consumer.ensureGroups();
    },
    async start() {
      await Promise.all(consumers.map((consumer) => consumer.start()));
    },
    async stop() {
      await Promise.all(consumers.map((consumer) => consumer.stop()));
    },
  };
}
