import { randomUUID } from "node:crypto";
import { type Keys, OrderLine, type RejectionReason } from "@conveyor/contract";
import type { RedisClient } from "@conveyor/runtime";
import { createTickBatcher, defineScript } from "@conveyor/runtime";
import { z } from "zod";

/** A line that could not be reserved: how many were asked for and how many there are. */
export interface RejectedLine {
  sku: string;
  requested: number;
  /** Units available when the order was checked; `null` for an unknown sku. */
  available: number | null;
}

/** What {@link reserveStock} decided for an order (the first decision, on every call). */
export type ReserveResult =
  | { status: "reserved"; reservationId: string }
  | { status: "rejected"; reason: RejectionReason; lines: RejectedLine[] };

/** What {@link releaseStock} did for an order. */
export type ReleaseResult =
  | {
      status: "released";
      reservationId: string;
      /** The order lines that were reserved, as they were given to {@link reserveStock}. */
      items: OrderLine[];
      /** False when an earlier call already put the stock back (a redelivery). */
      isFirstRelease: boolean;
    }
  /** Nothing was ever reserved for the order (it is unknown, or it was rejected). */
  | { status: "not-reserved"; reservation: "missing" | "rejected" };

/**
 * Reserves every line of each order or none, keyed by the order; the orders of one call are
 * decided one after the other.
 *
 * KEYS: stock hash, the sku set, then each order's reservation hash (all in the `{catalog}` slot).
 * ARGV: now, then per order: a fresh reservation id, its lines as JSON, its sku count, then
 * sku/quantity pairs (one per sku, quantities summed). The script runs alone, so checking and
 * taking stock cannot interleave with another order's: stock never goes negative however many
 * replicas race. Numbers cross the cjson boundary as strings, since cjson prints large numbers
 * in exponent notation. Replies never contain Lua booleans: under RESP3 they would arrive as
 * booleans, not nulls.
 * Reply: per order, four strings: status, reservation id, reason, rejected lines as JSON; or
 * 'error' and the message when a command failed for that order (the others go on).
 */
const RESERVE = `
local function reserve(reservation, at, count)
  local record = redis.call('HMGET', reservation, 'status', 'reservationId', 'reason', 'rejectedLines')
  if record[1] == 'rejected' then
    return { 'rejected', '', record[3], record[4] }
  elseif record[1] then
    -- Reserved, or reserved and released since: the first decision was to reserve.
    return { 'reserved', record[2], '', '[]' }
  end
  local first, last = at + 3, at + 2 + 2 * count
  local unknown, short = {}, {}
  for i = first, last, 2 do
    local sku, requested = ARGV[i], ARGV[i + 1]
    if redis.call('SISMEMBER', KEYS[2], sku) == 0 then
      unknown[#unknown + 1] = { sku, requested, '' }
    else
      local available = redis.call('HGET', KEYS[1], sku) or '0'
      if tonumber(available) < tonumber(requested) then
        short[#short + 1] = { sku, requested, available }
      end
    end
  end
  local reason, rejected = nil, nil
  if #unknown > 0 then
    reason, rejected = 'UNKNOWN_SKU', unknown
  elseif #short > 0 then
    reason, rejected = 'INSUFFICIENT_STOCK', short
  end
  if reason then
    local lines = cjson.encode(rejected)
    redis.call('HSET', reservation, 'status', 'rejected', 'reason', reason, 'rejectedLines', lines,
      'items', ARGV[at + 1], 'decidedAt', ARGV[1])
    return { 'rejected', '', reason, lines }
  end
  for i = first, last, 2 do
    redis.call('HINCRBY', KEYS[1], ARGV[i], '-' .. ARGV[i + 1])
  end
  redis.call('HSET', reservation, 'status', 'reserved', 'reservationId', ARGV[at], 'items',
    ARGV[at + 1], 'quantities', cjson.encode({ unpack(ARGV, first, last) }), 'decidedAt', ARGV[1])
  return { 'reserved', ARGV[at], '', '[]' }
end

local replies, at = {}, 2
for k = 3, #KEYS do
  local count = tonumber(ARGV[at + 2])
  local ok, reply = pcall(reserve, KEYS[k], at, count)
  if not ok then
    reply = { 'error', type(reply) == 'table' and reply.err or tostring(reply), '', '' }
  end
  for _, value in ipairs(reply) do replies[#replies + 1] = value end
  at = at + 3 + 2 * count
end
return replies
`;

/**
 * Puts a reservation back into stock once, keyed by the order.
 *
 * KEYS: stock hash, the order's reservation hash. ARGV: now.
 * Replies status ('released', 'already-released', 'rejected' or 'missing'), reservation id, items.
 */
const RELEASE = `
local record = redis.call('HMGET', KEYS[2], 'status', 'reservationId', 'items', 'quantities')
local status = record[1]
if not status then return { 'missing', '', '' } end
if status == 'rejected' then return { 'rejected', '', '' } end
if status == 'reserved' then
  local quantities = cjson.decode(record[4])
  for i = 1, #quantities, 2 do
    redis.call('HINCRBY', KEYS[1], quantities[i], quantities[i + 1])
  end
  redis.call('HSET', KEYS[2], 'status', 'released', 'releasedAt', ARGV[1])
  return { 'released', record[2], record[3] }
end
return { 'already-released', record[2], record[3] }
`;

const reserveScript = defineScript<string[]>(RESERVE);
const releaseScript = defineScript<[string, string, string]>(RELEASE);

/** Rejected lines as the script stores them: `[sku, requested, available or ""]`, all strings. */
const StoredRejectedLines = z.array(z.tuple([z.string(), z.string(), z.string()]));
const StoredItems = z.array(OrderLine);

/** Sums the quantities of lines that name the same sku, keeping the order of first mention. */
function quantitiesBySku(lines: readonly OrderLine[]): Map<string, number> {
  const quantities = new Map<string, number>();
  for (const line of lines) {
    quantities.set(line.sku, (quantities.get(line.sku) ?? 0) + line.quantity);
  }
  return quantities;
}

/** An order to reserve, checked: its lines' quantities summed per sku. */
interface OrderToReserve {
  orderId: string;
  lines: readonly OrderLine[];
  quantities: Map<string, number>;
}

function orderToReserve(orderId: string, lines: readonly OrderLine[]): OrderToReserve {
  if (lines.length === 0) throw new RangeError(`order ${orderId} has no lines to reserve`);
  const quantities = quantitiesBySku(lines);
  for (const [sku, quantity] of quantities) {
    if (!Number.isSafeInteger(quantity) || quantity < 1) {
      throw new RangeError(`order ${orderId}: quantity of ${sku} must be a positive integer`);
    }
  }
  return { orderId, lines, quantities };
}

/** Runs the reservation script for some orders: per order, its result or its own error. */
async function reserveOrders(
  redis: RedisClient,
  keys: Keys,
  orders: readonly OrderToReserve[],
): Promise<Array<ReserveResult | Error>> {
  const scriptKeys = [keys.stock, keys.skus];
  const args = [new Date().toISOString()];
  for (const order of orders) {
    scriptKeys.push(keys.reservation(order.orderId));
    args.push(`rsv_${randomUUID()}`, JSON.stringify(order.lines), String(order.quantities.size));
    for (const [sku, quantity] of order.quantities) args.push(sku, String(quantity));
  }
  // Batched already (one call per turn, see `createStockReserver`): written at once.
  const reply = await reserveScript.runBatched(redis, scriptKeys, args);
  return orders.map((_, index) => {
    const [status, idOrMessage, reason, rejectedLines] = reply.slice(4 * index, 4 * index + 4);
    if (status === "reserved") return { status, reservationId: idOrMessage as string };
    if (status !== "rejected") return new Error(idOrMessage ?? "no reply for this order");
    return {
      status: "rejected",
      reason: reason as RejectionReason,
      lines: StoredRejectedLines.parse(JSON.parse(rejectedLines as string)).map(
        ([sku, requested, available]) => ({
          sku,
          requested: Number(requested),
          available: available === "" ? null : Number(available),
        }),
      ),
    };
  });
}

/**
 * Reserves stock for every line of an order, or for none: an unknown sku rejects the order
 * (`UNKNOWN_SKU`), as does any line with less stock than requested (`INSUFFICIENT_STOCK`).
 *
 * Idempotent per order: the first decision is recorded in the order's reservation, and every
 * later call (a redelivery) returns it unchanged without touching stock, so an order is never
 * reserved twice nor flips between reserved and rejected.
 */
export async function reserveStock(
  redis: RedisClient,
  keys: Keys,
  orderId: string,
  lines: readonly OrderLine[],
): Promise<ReserveResult> {
  const [result] = await reserveOrders(redis, keys, [orderToReserve(orderId, lines)]);
  if (result instanceof Error || result === undefined) throw result ?? new Error("no reply");
  return result;
}

/** Reserves an order's stock like {@link reserveStock}. */
export type StockReserver = (
  orderId: string,
  lines: readonly OrderLine[],
) => Promise<ReserveResult>;

/**
 * {@link reserveStock} for a service's handlers: the reservations asked for in one turn of the
 * event loop (a read batch's) share one script call, each order still decided on its own, in
 * turn, and answered on its own.
 */
export function createStockReserver(redis: RedisClient, keys: Keys): StockReserver {
  const reserve = createTickBatcher<OrderToReserve, ReserveResult>((orders) =>
    reserveOrders(redis, keys, orders),
  );
  return async (orderId, lines) => reserve(orderToReserve(orderId, lines));
}

/**
 * Puts an order's reserved stock back (the payment failed). Idempotent per order: stock goes
 * back only once and only if it was reserved; the reservation is then marked released, and
 * later calls (redeliveries) report the same release with `isFirstRelease: false`.
 */
export async function releaseStock(
  redis: RedisClient,
  keys: Keys,
  orderId: string,
): Promise<ReleaseResult> {
  const [status, reservationId, items] = await releaseScript.run(
    redis,
    [keys.stock, keys.reservation(orderId)],
    [new Date().toISOString()],
  );
  if (status === "missing" || status === "rejected") {
    return { status: "not-reserved", reservation: status };
  }
  return {
    status: "released",
    reservationId,
    items: StoredItems.parse(JSON.parse(items)),
    isFirstRelease: status === "released",
  };
}
