import type { EventEnvelope, Keys } from "@conveyor/contract";
import type { RedisClient } from "@conveyor/runtime";
import { projectionOf } from "../read-model/projection.ts";

/**
 * KEYS: feed, then each event's order history list. ARGV: per event its type, order id, record.
 */
const APPEND = `
local cursors = {}
for i = 2, #KEYS do
  local at = (i - 2) * 3
  local cursor = redis.call('XADD', KEYS[1], '*', 'type', ARGV[at + 1], 'orderId', ARGV[at + 2], 'record', ARGV[at + 3])
  redis.call('RPUSH', KEYS[i], '{"cursor":"' .. cursor .. '",' .. string.sub(ARGV[at + 3], 2))
  cursors[#cursors + 1] = cursor
end
return cursors
`;

/**
 * Appends events to the feed and their orders' histories in one atomic step, as if the
 * projector had applied them all at once: the event hub then reads them as one burst.
 * Resolves their cursors.
 */
export async function appendToFeedAtOnce(
  redis: RedisClient,
  keys: Keys,
  events: readonly EventEnvelope[],
): Promise<string[]> {
  const args = events.flatMap((event) => [event.type, event.orderId, projectionOf(event).record]);
  const lists = events.map((event) => keys.orderEvents(event.orderId));
  const { feed } = keys.partition(0);
  return (await redis.eval(APPEND, 1 + lists.length, feed, ...lists, ...args)) as string[];
}
