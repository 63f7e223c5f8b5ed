import { type EventEnvelope, encodeEvent, type PartitionKeys } from "@conveyor/contract";
import { createCommitBatcher } from "./commit-batcher.ts";
import type { Commit } from "./consumer.ts";
import type { RedisClient } from "./redis.ts";
import { withProducerSpans } from "./tracing.ts";

/** What a service's handler returns: the events its work produced, to publish with the ack. */
export type Publication = readonly EventEnvelope[];

/**
 * The commit of a service: acknowledges the input entry and publishes the handler's events to
 * their streams of the input's partition (an order's events never leave its partition) in one
 * atomic step, so an output is never lost nor published twice. The commits
 * of one read batch share a script call (see {@link createCommitBatcher}). Each output is
 * published in its own PRODUCER span, child of the entry's CONSUMER span.
 */
export function publishWithAck(redis: RedisClient, keys: PartitionKeys): Commit<Publication> {
  const ackAndPublish = createCommitBatcher(redis);
  return async (delivery, events) => {
    await withProducerSpans(events, (stamped) =>
      ackAndPublish(
        delivery,
        stamped.map((event) => ({ stream: keys.stream(event.type), fields: encodeEvent(event) })),
      ),
    );
  };
}
