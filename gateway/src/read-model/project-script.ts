import type { Keys } from "@conveyor/contract";
import { defineScript } from "@conveyor/runtime";
import type { Redis } from "ioredis";
import type { Projection } from "./projection.ts";
import { ORDER_STATUSES } from "./records.ts";

/** Keys and arguments of the script's header, then of each event (see the script below). */
const FIXED_KEY_COUNT = 2 + ORDER_STATUSES.length;
const KEYS_PER_EVENT = 5;
const FIXED_ARG_COUNT = 2;
const ARGS_PER_EVENT = 4;

/**
 * Projects a batch of events into their orders' read model, each atomically with the ack of its
 * own entry: one script call for the batch, the same effects as one call per event in turn.
 *
 * For each event, the XACK is the gate: an entry already acknowledged (a redelivered copy that
 * finished first) changes nothing. Events of one order are applied strictly in step order
 * ({@link EVENT_STEP}): a step at or below the order's current step is a duplicate, the next
 * step is applied and then any stashed successors, and a step further ahead waits in the order's
 * stash. Applying sets the status (moving the id between the per-status indexes), appends the
 * event to the feed (whose entry id becomes its cursor) and to the order's history, in one total
 * order. An event that fails (a Redis error) fails alone: the others of the batch go on.
 *
 * KEYS: feed, orders index, one index per status in {@link ORDER_STATUSES} order, then per event:
 *       input stream, failure key, order hash, order history list, order stash.
 * ARGV: group, feed max length, then per event: entry id, order id, step, projection JSON (the
 *       step apart, so that gating and stashing an event need not decode its JSON).
 * Returns per event 0 if already acknowledged, 1 applied, 2 stashed, 3 duplicate, or the error.
 */
const PROJECT_EVENTS = `
local group, feedMaxLength = ARGV[1], ARGV[2]
local feedKey, ordersKey = KEYS[1], KEYS[2]
local statusKeys = {}
${ORDER_STATUSES.map((status, index) => `statusKeys['${status}'] = KEYS[${3 + index}]`).join("\n")}

local function apply(json, orderId, orderKey, historyKey)
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

local function project(k, a)
  local streamKey, failureKey, orderKey, historyKey, stashKey =
    KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4], KEYS[k + 5]
  local entryId, orderId, json = ARGV[a + 1], ARGV[a + 2], ARGV[a + 4]
  local step = tonumber(ARGV[a + 3])
  if redis.call('XACK', streamKey, group, entryId) == 0 then return 0 end
  redis.call('DEL', failureKey)
  local current = tonumber(redis.call('HGET', orderKey, 'step') or '0')
  if step <= current then return 3 end
  if step > current + 1 then
    redis.call('HSET', stashKey, step, json)
    return 2
  end
  apply(json, orderId, orderKey, historyKey)
  current = step
  while true do
    local successor = redis.call('HGET', stashKey, current + 1)
    if not successor then break end
    redis.call('HDEL', stashKey, current + 1)
    apply(successor, orderId, orderKey, historyKey)
    current = current + 1
  end
  return 1
end

local outcomes = {}
for i = 1, (#KEYS - ${FIXED_KEY_COUNT}) / ${KEYS_PER_EVENT} do
  local ok, outcome = pcall(project, ${FIXED_KEY_COUNT} + (i - 1) * ${KEYS_PER_EVENT},
    ${FIXED_ARG_COUNT} + (i - 1) * ${ARGS_PER_EVENT})
  if ok then
    outcomes[i] = outcome
  elseif type(outcome) == 'table' then
    outcomes[i] = tostring(outcome.err)
  else
    outcomes[i] = tostring(outcome)
  end
end
return outcomes
`;

/** What {@link projectEvents} did with an event. */
export type ProjectOutcome = "already-acknowledged" | "applied" | "stashed" | "duplicate";

const OUTCOMES: readonly ProjectOutcome[] = [
  "already-acknowledged",
  "applied",
  "stashed",
  "duplicate",
];

const projectScript = defineScript<Array<number | string>>(PROJECT_EVENTS);

/** An entry of the read model's group and the projection of its event. */
export interface ProjectedEntry {
  delivery: { stream: string; group: string; entryId: string; failureKey: string };
  projection: Projection;
}

/**
 * Acknowledges entries of the read model's group and applies their events to their orders, in
 * one script call, each event atomically with its own ack (see the script above for the
 * resequencing rules). Resolves one outcome per entry, in order: what was done, or the error
 * that stopped that entry alone. The entries must share one group and one hash slot (every key
 * of the script shares the `{orders}` tag of the event streams; see `createKeys`).
 */
export async function projectEvents(
  redis: Redis,
  keys: Keys,
  entries: readonly ProjectedEntry[],
  feedMaxLength: number,
): Promise<Array<ProjectOutcome | Error>> {
  const group = entries[0]?.delivery.group;
  if (group === undefined) return [];
  const scriptKeys = [
    keys.feed,
    keys.orders,
    ...ORDER_STATUSES.map((status) => keys.ordersByStatus(status)),
  ];
  const args = [group, String(feedMaxLength)];
  for (const { delivery, projection } of entries) {
    if (delivery.group !== group) throw new Error("projectEvents: entries of several groups");
    const { orderId } = projection;
    scriptKeys.push(
      delivery.stream,
      delivery.failureKey,
      keys.order(orderId),
      keys.orderEvents(orderId),
      keys.orderStash(orderId),
    );
    args.push(delivery.entryId, orderId, projection.step, JSON.stringify(projection));
  }
  const replies = await projectScript.run(redis, scriptKeys, args);
  return replies.map((reply) =>
    typeof reply === "number" ? (OUTCOMES[reply] ?? "applied") : new Error(reply),
  );
}
