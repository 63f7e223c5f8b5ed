import type { Keys, PartitionKeys } from "@conveyor/contract";
import {
  type Commit,
  createStreamConsumer,
  type StreamConsumer,
  type StreamConsumerOptions,
} from "./consumer.ts";

/** Options of {@link createPartitionedConsumer}: a consumer's, over every partition. */
export interface PartitionedConsumerOptions<TOutcome>
  extends Omit<StreamConsumerOptions<TOutcome>, "keys" | "commit"> {
  keys: Keys;
  /** The commit of one partition's entries: its outputs go to that partition's streams. */
  commitFor(partition: PartitionKeys): Commit<TOutcome>;
}

/**
 * One consumer group member over every partition of the pipeline: a stream consumer per
 * partition (its own blocking read, claims, leases and dead letters, all in the partition's
 * slot), each with its own `concurrency`, so a partition is consumed exactly as the whole
 * pipeline is with one. A bound shared by the partitions measured worse: each reader then reads
 * only the free slots, and at 12 partitions reads of ~5 entries cost the services 40–90 % more
 * CPU per event and Redis up to twice as much (docs/benchmarks.md, Redis Cluster). Every
 * replica reads every partition; the group spreads each partition's entries over replicas.
 */
export function createPartitionedConsumer<TOutcome>(
  options: PartitionedConsumerOptions<TOutcome>,
): StreamConsumer {
  const { keys, commitFor, ...shared } = options;
  const consumers = keys.partitions.map((partition) =>
    createStreamConsumer({ ...shared, keys: partition, commit: commitFor(partition) }),
  );
  return {
    get isRunning() {
      return consumers.every((consumer) => consumer.isRunning);
    },
    get inFlight() {
      return consumers.reduce((sum, consumer) => sum + consumer.inFlight, 0);
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
