import { EVENT_TYPES, type EventType, type Keys, STREAM_CONSUMER_GROUPS } from "@conveyor/contract";
import { Cluster, type Redis } from "ioredis";
import { AUDIT_GROUP, type AuditedEntry } from "./audit.ts";
import type { SoakOrder } from "./orders.ts";
import type { Watch, WatchedEvent } from "./watchers.ts";

/** One verdict of the soak. */
export interface Check {
  name: string;
  ok: boolean;
  /** Counts, or the first few offenders when it failed. */
  detail: string;
}

/** A malformed entry the soak added to a stream on purpose. */
export interface InjectedEntry {
  type: EventType;
  /** The partition whose stream it was added to. */
  partition: number;
  entryId: string;
}

/** Everything the checks look at besides Redis. */
export interface Observations {
  orders: readonly SoakOrder[];
  audit: readonly AuditedEntry[];
  eventWatches: readonly Watch[];
  orderWatches: ReadonlyMap<string, Watch>;
  injected: readonly InjectedEntry[];
  /** Stock per sku before the first order, and what was added since. */
  initialStock: Readonly<Record<string, number>>;
  restocked: Readonly<Record<string, number>>;
  /** Processes that exited on their own. */
  crashes: number;
  /**
   * When Redis was down: from its kill to a few seconds after its restart, or from the start of
   * a cluster failover to a few seconds after every node agreed on it (epoch ms).
   */
  redisOutages: ReadonlyArray<readonly [from: number, to: number]>;
}

/** What the checks found, with the figures the report prints. */
export interface Verdict {
  checks: Check[];
  figures: {
    ordersInRedis: number;
    /** Orders indexed in each partition (its `orders` set), by partition number. */
    ordersByPartition: number[];
    byStatus: Record<string, number>;
    lost: number;
    duplicatedEvents: number;
    subscriptionDuplicates: number;
    subscriptionMissing: number;
    deadLetters: number;
    msToTerminal: { p50: number; p99: number; max: number };
    streamEntriesAudited: number;
    streamLengthsAtEnd: Record<string, number>;
    /** Consumers each group lists at the end (crashed replicas stay listed, see the docs). */
    consumersListed: Record<string, number>;
  };
}

const TERMINAL_TYPES: readonly EventType[] = [
  "inventory.rejected",
  "inventory.released",
  "shipment.created",
];
const TERMINAL_STATUSES = new Set(["SHIPPED", "REJECTED", "CANCELLED"]);
const VALID_PATHS = [
  "order.created>inventory.rejected",
  "order.created>inventory.reserved>payment.processed>shipment.created",
  "order.created>inventory.reserved>payment.failed>inventory.released",
];

interface StoredEvent {
  id: string;
  cursor: string;
  type: string;
}

function msOf(entryId: string): number {
  return Number(entryId.split("-")[0]);
}

function examples(values: readonly unknown[], count = 5): string {
  const shown = values.slice(0, count).map((value) => JSON.stringify(value));
  return `${shown.join("; ")}${values.length > count ? `; … ${values.length - count} more` : ""}`;
}

function check(name: string, offenders: readonly unknown[], okDetail: string): Check {
  return offenders.length === 0
    ? { name, ok: true, detail: okDetail }
    : { name, ok: false, detail: `${offenders.length}: ${examples(offenders)}` };
}

/**
 * Every key matching `pattern`. A cluster client's SCAN goes to one node: this scans each node
 * it knows (replicas too, so a stale view of who is master after a failover misses nothing).
 */
async function scanKeys(redis: Redis | Cluster, pattern: string): Promise<string[]> {
  const nodes = redis instanceof Cluster ? redis.nodes("all") : [redis];
  const found = new Set<string>();
  for (const node of nodes) {
    let cursor = "0";
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", 1_000);
      cursor = next;
      for (const key of keys) found.add(key);
    } while (cursor !== "0");
  }
  return [...found];
}

/** A key prefix as a SCAN pattern that matches it literally. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}

/** An XRANGE/XREVRANGE reply's entries as field records. */
function toRecords(entries: ReadonlyArray<[id: string, fields: string[]]>) {
  return entries.map(([, fields]) => {
    const record: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2)
      record[fields[i] as string] = fields[i + 1] as string;
    return record;
  });
}

function tally(values: readonly string[]): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts];
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/**
 * Reads the final state from Redis and judges the run: every accepted order ended once, no
 * effect or event happened twice, stock adds up, every subscriber saw every event of its
 * orders once and in order, and the dead-letter streams hold exactly what was injected. Every
 * partition is read; on a cluster no command names keys of two slots (no pipelines: the client
 * pipelines the commands of one tick per node by itself).
 */
export async function judge(
  redis: Redis | Cluster,
  keys: Keys,
  seen: Observations,
): Promise<Verdict> {
  const checks: Check[] = [];
  const accepted = seen.orders.filter((order) => order.orderId !== undefined);
  const acceptedIds = new Set(accepted.map((order) => order.orderId as string));
  const indexed = await Promise.all(
    keys.partitions.map(async (partition) =>
      (await redis.zrange(partition.orders, "0", "-1")).map((id) => ({
        id,
        partition: partition.index,
      })),
    ),
  );
  const indexIds = indexed.flat().map(({ id }) => id);
  const misplaced = indexed
    .flat()
    .filter(({ id, partition }) => keys.forOrder(id).index !== partition);
  const allIds = [...new Set([...indexIds, ...acceptedIds])];

  // Placement: every order accepted once, retries made no second order.
  checks.push(
    check(
      "every order placed was accepted (retried with its idempotency key while the gateway or Redis was down)",
      seen.orders
        .filter((order) => !order.orderId)
        .map((order) => ({ index: order.index, refusal: order.refusal ?? "gave up" })),
      `${accepted.length}/${seen.orders.length}`,
    ),
  );
  checks.push(
    check(
      "retries made no extra order: the orders in Redis are exactly the accepted ones",
      [
        ...indexIds.filter((id) => !acceptedIds.has(id)).map((id) => ({ extra: id })),
        ...[...acceptedIds].filter((id) => !indexIds.includes(id)).map((id) => ({ missing: id })),
        ...(acceptedIds.size === accepted.length ? [] : [{ sharedIds: accepted.length }]),
        ...misplaced.map(({ id, partition }) => ({ indexedInOtherPartition: id, partition })),
      ],
      `${indexIds.length} orders in Redis`,
    ),
  );
  const replays = accepted.filter((order) => order.replayedOrderId !== undefined);
  checks.push(
    check(
      "a later call with the same idempotency key returned the same order",
      replays
        .filter((order) => order.replayedOrderId !== order.orderId)
        .map((order) => ({ orderId: order.orderId, replay: order.replayedOrderId })),
      `${replays.length} replays`,
    ),
  );

  // The streams, as audited: events per order.
  const streamEvents = new Map<string, AuditedEntry[]>();
  for (const entry of seen.audit) {
    if (!entry.event) continue;
    const list = streamEvents.get(entry.event.orderId) ?? [];
    list.push(entry);
    streamEvents.set(entry.event.orderId, list);
  }

  // The read model.
  const readModel = await Promise.all(
    allIds.map((id) =>
      Promise.all([
        redis.hget(keys.order(id), "status"),
        redis.lrange(keys.orderEvents(id), 0, -1),
      ]),
    ),
  );
  const statusOf = new Map<string, string | null>();
  const historyOf = new Map<string, StoredEvent[]>();
  allIds.forEach((id, index) => {
    const [status = null, history = []] = readModel[index] ?? [];
    statusOf.set(id, status);
    historyOf.set(
      id,
      history.map((json) => {
        const event = JSON.parse(json) as StoredEvent;
        return { id: event.id, cursor: event.cursor, type: event.type };
      }),
    );
  });
  const byStatus: Record<string, number> = {};
  for (const status of statusOf.values()) {
    byStatus[status ?? "MISSING"] = (byStatus[status ?? "MISSING"] ?? 0) + 1;
  }

  const lost: unknown[] = [];
  const duplicated: unknown[] = [];
  const badPaths: unknown[] = [];
  const msToTerminal: number[] = [];
  for (const id of allIds) {
    const entries = streamEvents.get(id) ?? [];
    const types = entries.map((entry) => entry.stream);
    const terminals = entries.filter((entry) => TERMINAL_TYPES.includes(entry.stream));
    const status = statusOf.get(id);
    if (terminals.length === 0 || !TERMINAL_STATUSES.has(status ?? "")) {
      lost.push({ id, status, types });
      continue;
    }
    if (terminals.length > 1 || new Set(types).size !== types.length) {
      duplicated.push({ id, types });
      continue;
    }
    // EVENT_TYPES lists the types in the order an order meets them.
    const path = [...types].sort((a, b) => EVENT_TYPES.indexOf(a) - EVENT_TYPES.indexOf(b));
    if (!VALID_PATHS.includes(path.join(">"))) badPaths.push({ id, types });
    // One partition per order: that is what keeps its events in order.
    const ownPartition = keys.forOrder(id).index;
    const elsewhere = entries.filter((entry) => entry.partition !== ownPartition);
    if (elsewhere.length > 0) {
      badPaths.push({
        id,
        ownPartition,
        elsewhere: elsewhere.map((e) => `${e.stream}@${e.partition}`),
      });
    }
    const created = entries.find((entry) => entry.stream === "order.created");
    const terminal = terminals[0];
    if (created && terminal) msToTerminal.push(msOf(terminal.entryId) - msOf(created.entryId));
  }
  checks.push(
    check(
      "every accepted order reached a terminal state (SHIPPED, REJECTED or CANCELLED)",
      lost,
      `${allIds.length - lost.length}/${allIds.length}`,
    ),
  );
  checks.push(
    check(
      "exactly one terminal event per order, and no event type twice for an order on the streams",
      duplicated,
      `${seen.audit.length} stream entries audited`,
    ),
  );
  checks.push(
    check(
      "each order's events form one valid path, all on its partition's streams",
      badPaths,
      "all valid",
    ),
  );

  const wrongOutcome: unknown[] = [];
  for (const order of accepted) {
    const status = statusOf.get(order.orderId as string);
    const expected =
      order.kind === "normal"
        ? ["SHIPPED"]
        : order.kind === "declined"
          ? ["CANCELLED"]
          : ["SHIPPED", "REJECTED"];
    if (!expected.includes(status ?? "")) {
      wrongOutcome.push({ id: order.orderId, kind: order.kind, status });
    }
  }
  checks.push(
    check(
      "each order ended as its kind requires (normal → SHIPPED, declined → CANCELLED, scarce → SHIPPED or REJECTED)",
      wrongOutcome,
      JSON.stringify(byStatus),
    ),
  );

  // The read model's history is the streams' events, each once, in step order.
  const historyMismatch: unknown[] = [];
  for (const id of allIds) {
    const history = historyOf.get(id) ?? [];
    const fromStreams = (streamEvents.get(id) ?? [])
      .map((entry) => entry.event?.id)
      .sort()
      .join(",");
    const fromHistory = history
      .map((event) => event.id)
      .sort()
      .join(",");
    const types = history.map((event) => event.type);
    if (fromStreams !== fromHistory || new Set(types).size !== types.length) {
      historyMismatch.push({ id, history: types });
    }
  }
  checks.push(
    check(
      "every order's history holds each of its events once (no duplicate in the read model)",
      historyMismatch,
      "all match the streams",
    ),
  );

  // Effects: one reservation, at most one charge, at most one shipment, matching the events.
  const eventOf = (id: string, type: EventType) =>
    (streamEvents.get(id) ?? []).find((entry) => entry.stream === type)?.event;
  const effectReplies = await Promise.all(
    allIds.map((id) =>
      Promise.all([
        redis.hgetall(keys.reservation(id)),
        redis.get(keys.charge(id)),
        redis.get(keys.shipment(id)),
      ]),
    ),
  );
  const badEffects: unknown[] = [];
  allIds.forEach((id, index) => {
    const [reservation = {}, chargeJson = null, shipmentJson = null] = effectReplies[index] ?? [];
    const charge = chargeJson ? (JSON.parse(chargeJson) as Record<string, unknown>) : undefined;
    const shipment = shipmentJson
      ? (JSON.parse(shipmentJson) as Record<string, unknown>)
      : undefined;
    const reserved = eventOf(id, "inventory.reserved");
    const processed = eventOf(id, "payment.processed");
    const failed = eventOf(id, "payment.failed");
    const released = eventOf(id, "inventory.released");
    const shipped = eventOf(id, "shipment.created");
    const problems: string[] = [];
    if (eventOf(id, "inventory.rejected") && reservation.status !== "rejected") {
      problems.push(`rejected but reservation ${reservation.status}`);
    }
    if (reserved) {
      const data = reserved.data as { reservationId: string };
      if (reservation.reservationId !== data.reservationId) problems.push("reservation id");
      if (reservation.status !== (released ? "released" : "reserved")) {
        problems.push(`reservation ${reservation.status}`);
      }
    }
    if (Boolean(charge) !== Boolean(reserved)) problems.push("charge without reservation or none");
    if (processed) {
      const data = processed.data as { paymentId: string };
      if (charge?.status !== "approved" || charge.paymentId !== data.paymentId) {
        problems.push("charge ≠ payment.processed");
      }
    }
    if (failed && charge?.status !== "declined") problems.push("charge ≠ payment.failed");
    if (Boolean(shipment) !== Boolean(processed)) problems.push("shipment without payment or none");
    if (shipped) {
      const data = shipped.data as { shipmentId: string };
      if (shipment?.shipmentId !== data.shipmentId) problems.push("shipment ≠ shipment.created");
    }
    if (problems.length > 0) badEffects.push({ id, problems });
  });
  // Every key of the run, from every node, sorted by what it is: where an order's effect key is
  // depends on its partition, so each is recognised by rebuilding it from its order id.
  const reservationKeys: string[] = [];
  const effectIds: string[] = [];
  for (const key of await scanKeys(redis, `${globEscape(keys.prefix)}*`)) {
    const id = key.split(":").at(-1) as string;
    if (key === keys.reservation(id)) reservationKeys.push(key);
    if (key === keys.reservation(id) || key === keys.charge(id) || key === keys.shipment(id)) {
      effectIds.push(id);
    }
  }
  const strayEffects = effectIds.filter((id) => !acceptedIds.has(id) && !indexIds.includes(id));
  checks.push(
    check(
      "effects once: one reservation, at most one charge and one shipment per order, each matching its event",
      [...badEffects, ...strayEffects.map((id) => ({ strayEffectFor: id }))],
      "all consistent",
    ),
  );

  // Stock: initial + restocked = available + held by reservations not released.
  const stock = await redis.hgetall(keys.stock);
  const held: Record<string, number> = {};
  const reservations = await Promise.all(
    reservationKeys.map((key) => redis.hmget(key, "status", "quantities")),
  );
  for (const [status, quantities] of reservations) {
    if (status !== "reserved" || !quantities) continue;
    const flat = JSON.parse(quantities) as string[];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const sku = flat[i] as string;
      held[sku] = (held[sku] ?? 0) + Number(flat[i + 1]);
    }
  }
  const unbalanced = Object.keys(seen.initialStock).flatMap((sku) => {
    const supplied = (seen.initialStock[sku] ?? 0) + (seen.restocked[sku] ?? 0);
    const accounted = Number(stock[sku] ?? 0) + (held[sku] ?? 0);
    return supplied === accounted
      ? []
      : [{ sku, supplied, available: stock[sku], held: held[sku] }];
  });
  checks.push(
    check(
      "stock conserved: initial + restocked = available + held by reservations (shipped included)",
      unbalanced,
      Object.entries(held)
        .map(([sku, count]) => `${sku} held ${count}`)
        .join(", "),
    ),
  );

  // Subscriptions: each event of each order exactly once, in order.
  let subscriptionMissing = 0;
  const subscriptionProblems: unknown[] = [];
  const compare = (label: string, orderId: string, events: readonly WatchedEvent[]) => {
    const history = historyOf.get(orderId) ?? [];
    // A delivered cursor covers every partition; the history keeps the order's feed entry id.
    const got = events.map((event) => `${event.entryId}/${event.id}`).join(",");
    const want = history.map((event) => `${event.cursor}/${event.id}`).join(",");
    if (got !== want) {
      subscriptionMissing += Math.max(0, history.length - events.length);
      subscriptionProblems.push({
        label,
        orderId,
        got: events.map((event) => event.type),
        want: history.map((event) => event.type),
      });
    }
  };
  let subscriptionDuplicates = 0;
  seen.eventWatches.forEach((watch, index) => {
    subscriptionDuplicates += watch.duplicates.length;
    const byOrder = new Map<string, WatchedEvent[]>();
    for (const event of watch.events) {
      const list = byOrder.get(event.orderId) ?? [];
      list.push(event);
      byOrder.set(event.orderId, list);
    }
    for (const id of new Set([...allIds, ...byOrder.keys()])) {
      compare(`events#${index + 1}`, id, byOrder.get(id) ?? []);
    }
  });
  for (const [orderId, watch] of seen.orderWatches) {
    subscriptionDuplicates += watch.duplicates.length;
    compare("orderEvents", orderId, watch.events);
  }
  const allWatches = [...seen.eventWatches, ...seen.orderWatches.values()];
  // Errors a client resumes from: being closed as slow, or anything while Redis was down.
  const isTransient = ({ at, error }: { at: number; error: string }) =>
    error.startsWith("SLOW_SUBSCRIBER") ||
    seen.redisOutages.some(([from, to]) => at >= from && at <= to);
  const errors = allWatches.flatMap((watch) => watch.errors);
  const transient = errors.filter(isTransient);
  const whileDown = tally(
    transient.filter(({ error }) => !error.startsWith("SLOW_SUBSCRIBER")).map(({ error }) => error),
  ).map(([error, count]) => `${count}× ${error}`);
  const lasting = tally(errors.filter((error) => !isTransient(error)).map(({ error }) => error));
  const duplicateExamples = allWatches.flatMap((watch) => watch.duplicates).slice(0, 5);
  checks.push(
    check(
      "every subscription saw each event of its orders exactly once and in order, resuming with its cursor",
      [
        ...duplicateExamples.map((event) => ({ duplicate: event })),
        ...(subscriptionDuplicates > duplicateExamples.length
          ? [{ moreDuplicates: subscriptionDuplicates - duplicateExamples.length }]
          : []),
        ...subscriptionProblems,
        ...lasting.map(([error, count]) => ({ subscriptionError: error, count })),
      ],
      `${seen.eventWatches.length} events + ${seen.orderWatches.size} orderEvents subscriptions, ${allWatches.reduce((sum, watch) => sum + watch.resumes, 0)} resumes${transient.length ? `; ${transient.length} ended by an error they resume from (slow, or while Redis was down or failing over), then resumed${whileDown.length ? `: ${whileDown.join("; ")}` : ""}` : ""}`,
    ),
  );

  // Dead letters: exactly one per injected entry and group reading its stream, each in the
  // dead-letter stream of the entry's partition.
  const streamOf = new Map(
    keys.partitions.flatMap((partition) =>
      EVENT_TYPES.map((type) => [partition.stream(type), `p${partition.index}/${type}`] as const),
    ),
  );
  const expected = seen.injected.flatMap((entry) =>
    STREAM_CONSUMER_GROUPS[entry.type].map(
      (group) => `p${entry.partition}/${entry.type} ${entry.entryId} ${group}`,
    ),
  );
  const deadLetterStreams = await Promise.all(
    keys.partitions.map(async (partition) =>
      toRecords(await redis.xrange(partition.deadLetter, "-", "+")).map((record) => ({
        record,
        partition: partition.index,
      })),
    ),
  );
  const deadLetters = deadLetterStreams.flat().map(({ record }) => record);
  const actual = deadLetterStreams.flat().map(({ record, partition }) => {
    const stream = streamOf.get(record.stream ?? "") ?? record.stream;
    const where = stream?.startsWith(`p${partition}/`) ? "" : ` (dead-lettered in p${partition})`;
    return `${stream} ${record.entryId} ${record.group}${where}`;
  });
  const unexpected = actual.filter(
    (key, index) => actual.indexOf(key) !== index || !expected.includes(key),
  );
  const missing = expected.filter((key) => !actual.includes(key));
  checks.push(
    check(
      "the dead-letter stream holds exactly the injected malformed entries (one per group reading them)",
      [
        ...unexpected.map((key) => ({
          unexpected: key,
          reason: deadLetters[actual.indexOf(key)]?.reason?.slice(0, 120),
        })),
        ...missing.map((key) => ({ missing: key })),
      ],
      `${actual.length} dead letters for ${seen.injected.length} injected entries`,
    ),
  );

  // Nothing left pending in any group, and the streams were trimmed.
  const pending: unknown[] = [];
  const streamLengthsAtEnd: Record<string, number> = {};
  const consumersListed: Record<string, number> = {};
  for (const partition of keys.partitions) {
    for (const type of EVENT_TYPES) {
      const stream = partition.stream(type);
      streamLengthsAtEnd[type] = (streamLengthsAtEnd[type] ?? 0) + (await redis.xlen(stream));
      const groups = (await redis.xinfo("GROUPS", stream)) as unknown[][];
      for (const group of groups) {
        const info: Record<string, unknown> = {};
        for (let i = 0; i + 1 < group.length; i += 2) info[String(group[i])] = group[i + 1];
        if (Number(info.pending) > 0) {
          pending.push({
            type,
            partition: partition.index,
            group: info.name,
            pending: info.pending,
          });
        }
        const name = String(info.name);
        if (name === AUDIT_GROUP) continue;
        consumersListed[name] = Math.max(consumersListed[name] ?? 0, Number(info.consumers));
      }
    }
    streamLengthsAtEnd.feed = (streamLengthsAtEnd.feed ?? 0) + (await redis.xlen(partition.feed));
  }
  checks.push(
    check("no entry left pending in any consumer group after the drain", pending, "none"),
  );
  checks.push(
    check(
      "no process exited on its own (only the soak's SIGKILLs)",
      seen.crashes > 0 ? [{ crashes: seen.crashes }] : [],
      "none",
    ),
  );

  msToTerminal.sort((a, b) => a - b);
  return {
    checks,
    figures: {
      ordersInRedis: indexIds.length,
      ordersByPartition: indexed.map((ids) => ids.length),
      byStatus,
      lost: lost.length,
      duplicatedEvents: duplicated.length,
      subscriptionDuplicates,
      subscriptionMissing,
      deadLetters: deadLetters.length,
      msToTerminal: {
        p50: percentile(msToTerminal, 50),
        p99: percentile(msToTerminal, 99),
        max: msToTerminal.at(-1) ?? 0,
      },
      streamEntriesAudited: seen.audit.length,
      streamLengthsAtEnd,
      consumersListed,
    },
  };
}
