import { EVENT_TYPES, type EventType, fieldsToRecord, type Keys } from "@conveyor/contract";
import { defineScript } from "./lua.ts";
import type { RedisClient } from "./redis.ts";

/**
 * Puts a dead letter back into its stream and removes it from the dead-letter stream, in one
 * atomic step: a second redrive of the same dead letter (a double click, two operators, a
 * retried request) finds nothing and adds nothing. The dead letters other groups made of the
 * same entry go with it: the entry goes back once, for all of them. The script re-reads the
 * dead letter and adds the fields only if they are still exactly the ones the caller read, so
 * what goes back is what was dead-lettered. Both keys share the `{orders}` hash tag.
 *
 * KEYS: the dead-letter stream, the stream to put the entry back into.
 * ARGV: the dead letter's id, its `fields` JSON as read, the count of sibling dead letters
 * (other groups', same entry) and their ids, then the fields to add, flat.
 * Reply: `{1, new entry id}`; `{0, ''}` when the dead letter is gone (already redriven);
 * `{-1, ''}` when it changed or names another stream.
 */
const REDRIVE = `
local entry = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])[1]
if not entry then return { 0, '' } end
local stream, fields
for i = 1, #entry[2], 2 do
  local name, value = entry[2][i], entry[2][i + 1]
  if name == 'stream' then stream = value elseif name == 'fields' then fields = value end
end
if stream ~= KEYS[2] or fields ~= ARGV[2] then return { -1, '' } end
local siblings = tonumber(ARGV[3])
local id = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 4 + siblings))
redis.call('XDEL', KEYS[1], ARGV[1])
for i = 4, 3 + siblings do redis.call('XDEL', KEYS[1], ARGV[i]) end
return { 1, id }
`;

/**
 * The fields a redrive adds to the entry it puts back: which dead letter it came from, and the
 * consumer groups it is for (those that dead-lettered it, comma-separated). Every group of the
 * stream reads the new entry; the others already processed the original and must not again
 * (see {@link isRedriveForOtherGroup}).
 */
export const REDRIVE_FIELDS = { from: "redrivenFrom", for: "redrivenFor" } as const;

/**
 * Whether an entry is a redrive meant for other consumer groups than `group`: that group
 * processed the original entry already, so it acknowledges this one and does nothing (its
 * outputs were published then). Entries without the field are for everyone.
 */
export function isRedriveForOtherGroup(
  fields: Readonly<Record<string, string>>,
  group: string,
): boolean {
  const groups = fields[REDRIVE_FIELDS.for];
  return groups !== undefined && !groups.split(",").includes(group);
}

const redriveScript = defineScript<[number, string]>(REDRIVE);

/** An entry of the dead-letter stream: what could not be processed, where, and why. */
export interface DeadLetter {
  /** The dead letter's own id (its entry id in the dead-letter stream): newest sort last. */
  id: string;
  /** The stream key the entry was read from. */
  stream: string;
  /** The event type of that stream, or null if the stream is not one of the event streams. */
  streamType: EventType | null;
  /** The entry's id in that stream. */
  entryId: string;
  /** The consumer group (service) that gave up on it, and the consumer that did. */
  group: string;
  consumer: string;
  reason: string;
  /** The last error a handler raised for it, if any was recorded. */
  lastError: string | null;
  /** How many times it had been delivered. */
  deliveryCount: number;
  deadLetteredAt: string;
  orderId: string | null;
  /** The entry's fields as they were read: what a redrive puts back. */
  fields: Record<string, string>;
}

/** A page of dead letters, newest first. */
export interface DeadLetterPage {
  deadLetters: DeadLetter[];
  /** Pass as `after` for the next (older) page. */
  endCursor: string | null;
  hasNextPage: boolean;
  /** Dead letters in the stream (all pages). */
  totalCount: number;
}

/** Which dead letters a bulk redrive takes; every given criterion must match. */
export interface DeadLetterFilter {
  /** Only those read from this event type's stream. */
  streamType?: EventType | undefined;
  /** Only those given up on by this consumer group. */
  group?: string | undefined;
  orderId?: string | undefined;
  /** Only those whose reason contains this text. */
  reasonContains?: string | undefined;
}

/** What redriving one dead letter did. */
export type RedriveResult =
  /** Put back into `stream` as `entryId`, and removed from the dead-letter stream. */
  | { outcome: "redelivered"; deadLetter: DeadLetter; entryId: string }
  /** No dead letter with this id (never was, or already redriven). */
  | { outcome: "not-found" }
  /** It cannot go back: it names no event stream, or it has no fields. */
  | { outcome: "not-redeliverable"; deadLetter: DeadLetter; reason: string };

const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

/** Whether a string is a stream entry id (`<ms>-<seq>`), as a dead letter's id is. */
export function isStreamEntryId(value: string): boolean {
  return STREAM_ID.test(value);
}

function parseFields(json: string | undefined): Record<string, string> {
  if (!json) return {};
  try {
    const parsed: unknown = JSON.parse(json);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return {};
    return Object.fromEntries(
      Object.entries(parsed).filter(
        (pair): pair is [string, string] => typeof pair[1] === "string",
      ),
    );
  } catch {
    return {};
  }
}

/** Reads a dead-letter entry as the consumer wrote it (see the runtime's dead-letter step). */
function toDeadLetter(keys: Keys, id: string, flat: string[]): DeadLetter {
  const record = fieldsToRecord(flat);
  const stream = record.stream ?? "";
  return {
    id,
    stream,
    streamType: EVENT_TYPES.find((type) => keys.stream(type) === stream) ?? null,
    entryId: record.entryId ?? "",
    group: record.group ?? "",
    consumer: record.consumer ?? "",
    reason: record.reason ?? "",
    lastError: record.lastError ?? null,
    deliveryCount: Number(record.deliveries ?? 0),
    deadLetteredAt: record.deadLetteredAt ?? new Date(Number(id.split("-")[0])).toISOString(),
    orderId: record.orderId ? record.orderId : null,
    fields: parseFields(record.fields),
  };
}

/**
 * One page of dead letters, newest first. `after` is the `endCursor` of the previous page (a
 * dead-letter id): the page starts just before it, so redriving entries between pages never
 * shifts what the next page holds.
 */
export async function listDeadLetters(
  redis: RedisClient,
  keys: Keys,
  page: { first: number; after?: string | undefined },
): Promise<DeadLetterPage> {
  const end = page.after ? `(${page.after}` : "+";
  const [entries, totalCount] = await Promise.all([
    redis.xrevrange(keys.deadLetter, end, "-", "COUNT", page.first + 1),
    redis.xlen(keys.deadLetter),
  ]);
  const deadLetters = entries
    .slice(0, page.first)
    .map(([id, flat]) => toDeadLetter(keys, id, flat));
  return {
    deadLetters,
    endCursor: deadLetters.at(-1)?.id ?? null,
    hasNextPage: entries.length > page.first,
    totalCount,
  };
}

/** One dead letter by id, or undefined. */
export async function getDeadLetter(
  redis: RedisClient,
  keys: Keys,
  id: string,
): Promise<DeadLetter | undefined> {
  const [entry] = await redis.xrange(keys.deadLetter, id, id);
  return entry ? toDeadLetter(keys, entry[0], entry[1]) : undefined;
}

/** The dead letters of one stream entry (one per group that gave up on it), oldest first. */
async function deadLettersOfEntry(
  redis: RedisClient,
  keys: Keys,
  deadLetter: DeadLetter,
): Promise<DeadLetter[]> {
  // Dead letters come after their entry, on the same Redis clock: start the scan there.
  const start = isStreamEntryId(deadLetter.entryId) ? deadLetter.entryId : "-";
  const entries = await redis.xrange(keys.deadLetter, start, "+");
  return entries
    .map(([id, flat]) => toDeadLetter(keys, id, flat))
    .filter((other) => other.stream === deadLetter.stream && other.entryId === deadLetter.entryId);
}

/**
 * Puts one dead letter back into its stream, as a new entry with the same fields (the same
 * event id and trace context), and removes it from the dead-letter stream, atomically and at
 * most once. The entry goes back once however many groups dead-lettered it (their dead letters
 * go too), and only those groups process it again: the stream's other groups acknowledge it
 * and do nothing, since they processed the original. The effects are idempotent per order
 * anyway (reservations, charges, shipments, the read model's steps). If it fails again, it
 * comes back to the dead-letter stream with its new reason.
 */
export async function redeliverDeadLetter(
  redis: RedisClient,
  keys: Keys,
  id: string,
): Promise<RedriveResult> {
  if (!isStreamEntryId(id)) return { outcome: "not-found" };
  const [entry] = await redis.xrange(keys.deadLetter, id, id);
  if (!entry) return { outcome: "not-found" };
  const deadLetter = toDeadLetter(keys, entry[0], entry[1]);
  // Only the event streams: they share the dead-letter stream's slot, and nothing else is
  // ever written from a dead letter's content.
  if (deadLetter.streamType === null) {
    return { outcome: "not-redeliverable", deadLetter, reason: "it names no event stream" };
  }
  const original = Object.entries(deadLetter.fields).filter(
    ([name]) => name !== REDRIVE_FIELDS.from && name !== REDRIVE_FIELDS.for,
  );
  if (original.length === 0) {
    return { outcome: "not-redeliverable", deadLetter, reason: "it has no fields" };
  }
  const siblings = (await deadLettersOfEntry(redis, keys, deadLetter)).filter(
    (other) => other.id !== id,
  );
  const groups = [...new Set([deadLetter, ...siblings].map((letter) => letter.group))];
  // A dead letter that names no group (written by hand, say) goes back to every group.
  const isForEveryGroup = groups.some((group) => group === "");
  const fields = [
    ...original.flat(),
    ...[REDRIVE_FIELDS.from, id],
    ...(isForEveryGroup ? [] : [REDRIVE_FIELDS.for, groups.join(",")]),
  ];
  const [status, entryId] = await redriveScript.run(
    redis,
    [keys.deadLetter, deadLetter.stream],
    [
      id,
      fieldsToRecord(entry[1]).fields ?? "",
      String(siblings.length),
      ...siblings.map((other) => other.id),
      ...fields,
    ],
  );
  if (Number(status) === 1) return { outcome: "redelivered", deadLetter, entryId };
  if (Number(status) === 0) return { outcome: "not-found" };
  return { outcome: "not-redeliverable", deadLetter, reason: "it changed while being redriven" };
}

function matches(deadLetter: DeadLetter, filter: DeadLetterFilter): boolean {
  return (
    (filter.streamType === undefined || deadLetter.streamType === filter.streamType) &&
    (filter.group === undefined || deadLetter.group === filter.group) &&
    (filter.orderId === undefined || deadLetter.orderId === filter.orderId) &&
    (filter.reasonContains === undefined || deadLetter.reason.includes(filter.reasonContains))
  );
}

/** What a bulk redrive did. */
export interface BulkRedriveResult {
  /** The dead letters put back, oldest first, each with its new entry id. */
  redelivered: Array<{ deadLetter: DeadLetter; entryId: string }>;
  /** Matching dead letters that cannot go back, with why. */
  skipped: Array<{ deadLetter: DeadLetter; reason: string }>;
}

/**
 * Redrives up to `limit` dead letters that match `filter`, oldest first (the order they failed
 * in), each as {@link redeliverDeadLetter} does: two bulk redrives racing put each one back once.
 */
export async function redeliverDeadLetters(
  redis: RedisClient,
  keys: Keys,
  filter: DeadLetterFilter,
  limit: number,
): Promise<BulkRedriveResult> {
  const result: BulkRedriveResult = { redelivered: [], skipped: [] };
  let start = "-";
  const pageSize = 200;
  while (result.redelivered.length + result.skipped.length < limit) {
    const entries = await redis.xrange(keys.deadLetter, start, "+", "COUNT", pageSize);
    for (const [id, flat] of entries) {
      if (result.redelivered.length + result.skipped.length >= limit) break;
      if (!matches(toDeadLetter(keys, id, flat), filter)) continue;
      const outcome = await redeliverDeadLetter(redis, keys, id);
      if (outcome.outcome === "redelivered") {
        result.redelivered.push({ deadLetter: outcome.deadLetter, entryId: outcome.entryId });
      } else if (outcome.outcome === "not-redeliverable") {
        result.skipped.push({ deadLetter: outcome.deadLetter, reason: outcome.reason });
      }
    }
    const last = entries.at(-1);
    if (!last || entries.length < pageSize) break;
    start = `(${last[0]}`;
  }
  return result;
}
