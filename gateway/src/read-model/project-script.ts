import type { Keys, PartitionKeys } from "@conveyor/contract";
import type { RedisClient } from "@conveyor/runtime";
import { defineScript } from "@conveyor/runtime";
import type { Projection } from "./projection.ts";
import { ORDER_STATUSES } from "./records.ts";

/** Keys and arguments of the script's header, then of each event (see the script below). */
const FIXED_KEY_COUNT = 2 + ORDER_STATUSES.length;
const KEYS_PER_EVENT = 5;
const FIXED_ARG_COUNT = 2;

/** The projection's fields, in the order each event passes them to the script. */
const PROJECTION_FIELDS = [
  "status",
  "type",
  "occurredAt",
  "traceId",
  "failureReason",
  "isReasonFallback",
  "record",
  "customerId",
  "items",
  "totalCents",
  "currency",
] as const satisfies ReadonlyArray<keyof Projection>;

/** Per event: entry id, order id, step, whether it was delivered before, then the fields. */
const ARGS_PER_EVENT = 4 + PROJECTION_FIELDS.length;

/**
 * Projects a batch of events into their orders' read model, each atomically with the ack of its
 * own entry: one script call for the batch, the same effects as one call per event in turn.
 *
 * For each event, the order's state is read first (a key of the wrong type fails the event
 * before anything changes, so it stays pending and is retried, then dead-lettered), then the
 * XACK is the gate: an entry already acknowledged (a redelivered copy that finished first)
 * changes nothing. Events of one order are applied strictly in step order ({@link EVENT_STEP}):
 * a step at or below the order's current step is a duplicate, the next step is applied and then
 * any stashed successors, and a step further ahead waits in the order's stash (flagged in the
 * order's hash, so an order with nothing stashed costs no stash lookup). Applying writes the
 * order's hash once, moves the id between the per-status indexes only when its status changes,
 * and appends the event to the feed (whose entry id becomes its cursor) and to the order's
 * history. The fields arrive as plain arguments: no JSON to decode, but for a stashed event. An
 * event that fails (a Redis error) fails alone: the others of the batch go on.
 *
 * KEYS: feed, orders index, one index per status in {@link ORDER_STATUSES} order, then per event:
 *       input stream, failure key, order hash, order history list, order stash.
 * ARGV: group, feed max length, then per event: entry id, order id, step, "1" if it was
 *       delivered before, then the {@link PROJECTION_FIELDS}.
 * Returns per event 0 if already acknowledged, 1 applied, 2 stashed, 3 duplicate, or the error.
 */
const PROJECT_EVENTS = `
local group, feedMaxLength = ARGV[1], ARGV[2]
local feedKey, ordersKey = KEYS[1], KEYS[2]
local statusKeys = {}
${ORDER_STATUSES.map((status, index) => `statusKeys['${status}'] = KEYS[${3 + index}]`).join("\n")}
local FIELDS = { ${PROJECTION_FIELDS.map((field) => `'${field}'`).join(", ")} }

local function fieldsAt(a)
  local p = {}
  for i, name in ipairs(FIELDS) do p[name] = ARGV[a + 4 + i] end
  return p
end

local function apply(p, step, orderId, orderKey, historyKey, order)
  local writes = { 'status', p.status, 'step', step, 'updatedAt', p.occurredAt }
  if p.type == 'order.created' then
    if not order.id then
      for _, pair in ipairs({ { 'id', orderId }, { 'customerId', p.customerId },
          { 'items', p.items }, { 'totalCents', p.totalCents }, { 'currency', p.currency },
          { 'createdAt', p.occurredAt }, { 'traceId', p.traceId } }) do
        writes[#writes + 1], writes[#writes + 2] = pair[1], pair[2]
      end
      redis.call('ZADD', ordersKey, 0, orderId)
      order.id = orderId
    elseif p.traceId ~= '' and (order.traceId or '') == '' then
      writes[#writes + 1], writes[#writes + 2] = 'traceId', p.traceId
    end
  end
  if order.status ~= p.status then
    if order.status and statusKeys[order.status] then
      redis.call('ZREM', statusKeys[order.status], orderId)
    end
    redis.call('ZADD', statusKeys[p.status], 0, orderId)
    order.status = p.status
  end
  if p.failureReason ~= '' and (p.isReasonFallback ~= '1' or not order.failureReason) then
    writes[#writes + 1], writes[#writes + 2] = 'failureReason', p.failureReason
    order.failureReason = p.failureReason
  end
  redis.call('HSET', orderKey, unpack(writes))
  local cursor = redis.call('XADD', feedKey, 'MAXLEN', '~', feedMaxLength, '*',
    'type', p.type, 'orderId', orderId, 'record', p.record)
  redis.call('RPUSH', historyKey, '{"cursor":"' .. cursor .. '",' .. string.sub(p.record, 2))
end

local function project(k, a)
  local streamKey, failureKey, orderKey, historyKey, stashKey =
    KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4], KEYS[k + 5]
  local entryId, orderId, step = ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3])
  local state = redis.call('HMGET', orderKey, 'step', 'status', 'id', 'traceId',
    'failureReason', 'stashed')
  if redis.call('XACK', streamKey, group, entryId) == 0 then return 0 end
  if ARGV[a + 4] == '1' then redis.call('DEL', failureKey) end
  local order = { status = state[2] or nil, id = state[3] or nil, traceId = state[4] or nil,
    failureReason = state[5] or nil }
  local current = tonumber(state[1] or '0')
  if step <= current then return 3 end
  if step > current + 1 then
    redis.call('HSET', stashKey, step, cjson.encode(fieldsAt(a)))
    redis.call('HSET', orderKey, 'stashed', '1')
    return 2
  end
  apply(fieldsAt(a), step, orderId, orderKey, historyKey, order)
  if state[6] then
    while true do
      local successor = redis.call('HGET', stashKey, step + 1)
      if not successor then break end
      redis.call('HDEL', stashKey, step + 1)
      step = step + 1
      apply(cjson.decode(successor), step, orderId, orderKey, historyKey, order)
    end
    if redis.call('EXISTS', stashKey) == 0 then redis.call('HDEL', orderKey, 'stashed') end
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
  delivery: {
    stream: string;
    group: string;
    entryId: string;
    failureKey: string;
    /** Deliveries so far; undefined counts as delivered before (its failure key is cleared). */
    deliveryCount?: number;
  };
  projection: Projection;
}

/**
 * Acknowledges entries of the read model's group and applies their events to their orders, in
 * one script call, each event atomically with its own ack (see the script above for the
 * resequencing rules). Resolves one outcome per entry, in order: what was done, or the error
 * that stopped that entry alone. The entries must share one group and be of one partition
 * (every key of the script shares the partition's hash tag; see `createKeys`).
 */
export async function projectEvents(
  redis: RedisClient,
  keys: Keys,
  partition: PartitionKeys,
  entries: readonly ProjectedEntry[],
  feedMaxLength: number,
): Promise<Array<ProjectOutcome | Error>> {
  const group = entries[0]?.delivery.group;
  if (group === undefined) return [];
  const scriptKeys = [
    partition.feed,
    partition.orders,
    ...ORDER_STATUSES.map((status) => partition.ordersByStatus(status)),
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
    const isRedelivery = delivery.deliveryCount === undefined || delivery.deliveryCount > 1;
    args.push(delivery.entryId, orderId, projection.step, isRedelivery ? "1" : "0");
    for (const field of PROJECTION_FIELDS) args.push(projection[field]);
  }
  const replies = await projectScript.run(redis, scriptKeys, args);
  return replies.map((reply) =>
    typeof reply === "number" ? (OUTCOMES[reply] ?? "applied") : new Error(reply),
  );
}
