import { EVENT_TYPES, type Keys } from "@conveyor/contract";
import type { RedisClient } from "@conveyor/runtime";
import {
  type ConsumerSettings,
  createPartitionedConsumer,
  createTickBatcher,
  type Logger,
  type StreamConsumer,
} from "@conveyor/runtime";
import { recordOrderOutcome } from "../metrics.ts";
import { type ProjectedEntry, projectEvents } from "./project-script.ts";
import { type Projection, projectionOf } from "./projection.ts";

/** Most events one projection script call carries (a read batch is 50 by default). */
const MAX_EVENTS_PER_CALL = 100;

/** The consumer group of the read model; every gateway replica joins it and shares the work. */
export const READ_MODEL_GROUP = "gateway";

/** Options of {@link createProjector}. */
export interface ProjectorOptions {
  redis: RedisClient;
  /** Opens the connection its blocking reads use (owned and closed by the projector). */
  openBlockingConnection: () => RedisClient;
  keys: Keys;
  logger: Logger;
  /** Approximate bound of the feed stream (`XADD … MAXLEN ~`). */
  feedMaxLength: number;
  /** The consumer's name (unique per process) and tuning, from the gateway's settings. */
  settings: ConsumerSettings;
}

/**
 * The order read model's writer: a consumer of group `gateway` over every event stream of every
 * partition that projects each event into its order (status, history, indexes) and its
 * partition's feed, atomically with its ack (the events of a read batch in one script call),
 * so that any gateway replica can answer queries and feed subscriptions.
 */
export function createProjector(options: ProjectorOptions): StreamConsumer {
  const { redis, keys, feedMaxLength, logger } = options;
  return createPartitionedConsumer<Projection>({
    redis,
    openBlockingConnection: options.openBlockingConnection,
    keys,
    group: READ_MODEL_GROUP,
    ...options.settings,
    streams: EVENT_TYPES,
    logger: logger.child({ component: "projector" }),
    handle: async (event) => projectionOf(event),
    commitFor(partition) {
      // The commits of one read batch arrive in one turn: they share one script call.
      const project = createTickBatcher(
        (entries: ProjectedEntry[]) =>
          projectEvents(redis, keys, partition, entries, feedMaxLength),
        { maxItems: MAX_EVENTS_PER_CALL },
      );
      return async (delivery, projection) => {
        const outcome = await project({ delivery, projection });
        if (outcome === "applied") recordOrderOutcome(projection);
        if (outcome !== "applied") {
          logger.debug(
            { entryId: delivery.entryId, stream: delivery.stream, outcome },
            "projected",
          );
        }
      };
    },
  });
}
