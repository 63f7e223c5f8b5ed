import type { EventEnvelope, Keys } from "@conveyor/contract";
import { encodeEvent } from "@conveyor/contract";
import type { RedisClient } from "@conveyor/runtime";
import { defineScript } from "@conveyor/runtime";

/**
 * Places an order atomically: either returns the order an idempotency key already names, or
 * records the key, creates the order's read model (PENDING, step 0), indexes it and publishes
 * `order.created`, all at once, so that concurrent retries with one key make one order.
 *
 * KEYS: order hash, orders index, PENDING index, order.created stream[, idempotency key].
 * ARGV: order id, request hash, idempotency ttl (s), customer id, items JSON, total cents,
 *       currency, created at, trace id, then the event's fields.
 * Returns { 'created' | 'existing' | 'conflict', order id }.
 */
const PLACE_ORDER = `
local orderKey, ordersKey, pendingKey, streamKey, idempotencyKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local orderId = ARGV[1]
if idempotencyKey then
  local existing = redis.call('HMGET', idempotencyKey, 'orderId', 'requestHash')
  if existing[1] then
    if existing[2] ~= ARGV[2] then return { 'conflict', existing[1] } end
    return { 'existing', existing[1] }
  end
  redis.call('HSET', idempotencyKey, 'orderId', orderId, 'requestHash', ARGV[2])
  redis.call('EXPIRE', idempotencyKey, ARGV[3])
end
redis.call('HSET', orderKey, 'id', orderId, 'status', 'PENDING', 'step', 0,
  'customerId', ARGV[4], 'items', ARGV[5], 'totalCents', ARGV[6], 'currency', ARGV[7],
  'createdAt', ARGV[8], 'updatedAt', ARGV[8], 'traceId', ARGV[9])
redis.call('ZADD', ordersKey, 0, orderId)
redis.call('ZADD', pendingKey, 0, orderId)
redis.call('XADD', streamKey, '*', unpack(ARGV, 10))
return { 'created', orderId }
`;

const placeOrderScript = defineScript<[string, string]>(PLACE_ORDER);

/** What {@link storeNewOrder} did. */
export type StoreOutcome =
  | { kind: "created"; orderId: string }
  | { kind: "existing"; orderId: string }
  | { kind: "conflict"; orderId: string };

/** The order to create and its `order.created` event. */
export interface NewOrder {
  event: Extract<EventEnvelope, { type: "order.created" }>;
  /** Where the idempotency key is remembered, and a digest of the request it was used for. */
  idempotency?: { key: string; requestHash: string; ttlSeconds: number } | undefined;
  traceId: string;
}

/** Runs the placeOrder script (see above). */
export async function storeNewOrder(
  redis: RedisClient,
  keys: Keys,
  order: NewOrder,
): Promise<StoreOutcome> {
  const { event, idempotency } = order;
  const partition = keys.forOrder(event.orderId);
  const orderKeys = [
    keys.order(event.orderId),
    partition.orders,
    partition.ordersByStatus("PENDING"),
    partition.stream("order.created"),
    ...(idempotency ? [idempotency.key] : []),
  ];
  const [kind, orderId] = await placeOrderScript.run(redis, orderKeys, [
    event.orderId,
    idempotency?.requestHash ?? "",
    String(idempotency?.ttlSeconds ?? 0),
    event.data.customerId,
    JSON.stringify(event.data.items),
    String(event.data.totalCents),
    event.data.currency,
    event.occurredAt,
    order.traceId,
    ...encodeEvent(event),
  ]);
  return { kind: kind as StoreOutcome["kind"], orderId };
}
