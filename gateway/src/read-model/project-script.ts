import type { Keys } from "@conveyor/contract";
import { defineScript } from "@conveyor/runtime";
import type { Redis } from "ioredis";
import type { Projection } from "./projection.ts";
import { ORDER_STATUSES } from "./records.ts";

const FIXED_KEY_COUNT = 7;

/**
 * Projects one event into its order's read model, atomically with the ack of its entry.
 *
 * The XACK is the gate: an entry already acknowledged (a redelivered copy that finished first)
 * changes nothing. Events of one order are applied strictly in step order ({@link EVENT_STEP}):
 * a step at or below the order's current step is a duplicate, the next step is applied and then
 * any stashed successors, and a step further ahead waits in the order's stash. Applying sets the
 * status (moving the id between the per-status indexes), appends the event to the feed (whose
 * entry id becomes its cursor) and to the order's history, in one total order.
 *
 * KEYS: input stream, failure key, order hash, order history list, order stash, feed,
 *       orders index, then one index per status in {@link ORDER_STATUSES} order.
 * ARGV: group, entry id, feed max length, order id, projection JSON.
 * Returns 0 if already acknowledged, 1 applied, 2 stashed, 3 duplicate.
 */
const PROJECT_EVENT = `
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('DEL', KEYS[2])
local orderKey, historyKey, stashKey, feedKey, ordersKey = KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local feedMaxLength, orderId = ARGV[3], ARGV[4]
local statusKeys = {}
${ORDER_STATUSES.map((status, index) => `statusKeys['${status}'] = KEYS[${FIXED_KEY_COUNT + 1 + index}]`).join("\n")}

local function apply(json)
  local p = cjson.decode(json)
  if p.type == 'order.created' then
    if redis.call('EXISTS', orderKey) == 0 then
      redis.call('HSET', orderKey, 'id', orderId, 'customerId', p.customerId, 'items', p.items,
        'totalCents', p.totalCents, 'currency', p.currency, 'createdAt', p.occurredAt,
        'traceId', p.traceId)
      redis.call('ZADD', ordersKey, 0, orderId)
    elseif p.traceId ~= '' and (redis.call('HGET', orderKey, 'traceId') or '') == '' then
      redis.call('HSET', orderKey, 'traceId', p.traceId)
    end
  end
  local previous = redis.call('HGET', orderKey, 'status')
  if previous and previous ~= p.status and statusKeys[previous] then
    redis.call('ZREM', statusKeys[previous], orderId)
  end
  redis.call('ZADD', statusKeys[p.status], 0, orderId)
  redis.call('HSET', orderKey, 'status', p.status, 'step', p.step, 'updatedAt', p.occurredAt)
  if p.failureReason ~= '' and
      (p.isReasonFallback ~= '1' or redis.call('HEXISTS', orderKey, 'failureReason') == 0) then
    redis.call('HSET', orderKey, 'failureReason', p.failureReason)
  end
  local cursor = redis.call('XADD', feedKey, 'MAXLEN', '~', feedMaxLength, '*',
    'type', p.type, 'orderId', orderId, 'record', p.record)
  redis.call('RPUSH', historyKey, '{"cursor":"' .. cursor .. '",' .. string.sub(p.record, 2))
end

local step = tonumber(cjson.decode(ARGV[5]).step)
local current = tonumber(redis.call('HGET', orderKey, 'step') or '0')
if step <= current then return 3 end
if step > current + 1 then
  redis.call('HSET', stashKey, step, ARGV[5])
  return 2
end
apply(ARGV[5])
current = step
while true do
  local successor = redis.call('HGET', stashKey, current + 1)
  if not successor then break end
  redis.call('HDEL', stashKey, current + 1)
  apply(successor)
  current = current + 1
end
return 1
`;

/** What {@link projectEvent} did with an event. */
export type ProjectOutcome = "already-acknowledged" | "applied" | "stashed" | "duplicate";

const OUTCOMES: readonly ProjectOutcome[] = [
  "already-acknowledged",
  "applied",
  "stashed",
  "duplicate",
];

const projectScript = defineScript<number>(PROJECT_EVENT);

/**
 * Acknowledges an entry of the read model's group and applies its event to the order, in one
 * atomic step (see the script above for the resequencing rules).
 */
export async function projectEvent(
  redis: Redis,
  keys: Keys,
  input: { stream: string; group: string; entryId: string; failureKey: string },
  projection: Projection,
  feedMaxLength: number,
): Promise<ProjectOutcome> {
  const { orderId } = projection;
  const result = await projectScript.run(
    redis,
    [
      input.stream,
      input.failureKey,
      keys.order(orderId),
      keys.orderEvents(orderId),
      keys.orderStash(orderId),
      keys.feed,
      keys.orders,
      ...ORDER_STATUSES.map((status) => keys.ordersByStatus(status)),
    ],
    [input.group, input.entryId, String(feedMaxLength), orderId, JSON.stringify(projection)],
  );
  return OUTCOMES[result] ?? "applied";
}
