import {
  EVENT_TYPES,
  type EventType,
  fieldsToRecord,
  type Keys,
  type PartitionKeys,
} from "@conveyor/contract";
import {
  compareDeadLetters,
  type DeadLetterAddress,
  formatDeadLetterId,
  isStreamEntryId,
  parseDeadLetterId,
} from "./dead-letter-ids.ts";
import { defineScript } from "./lua.ts";
import type { RedisClient } from "./redis.ts";

/**
 * Puts a dead letter back into its stream and removes it from the dead-letter stream, in one
 * atomic step: a second redrive of the same dead letter (a double click, two operators, a
 * retried request) finds nothing and adds nothing. The dead letters other groups made of the
 * same entry go with it: the entry goes back once, for all of them. The script re-reads the
 * dead letter and adds the fields only if they are still exactly the ones the caller read, so
 * what goes back is what was dead-lettered. Both keys are one partition's (its hash tag): a dead
 * letter goes back only into a stream of its own partition.
 *
 * KEYS: the dead-letter stream, the stream to put the entry back into.
 * ARGV: the dead letter's entry id, its `fields` JSON as read, the count of sibling dead letters
 * (other groups', same entry) and their entry ids, then the fields to add, flat.
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

/** An entry of a dead-letter stream: what could not be processed, where, and why. */
export interface DeadLetter {
  /**
   * The dead letter's public id: its entry id in its partition's dead-letter stream, qualified
   * by the partition when there are several (`3/1700000000000-0`; see `dead-letter-ids.ts`).
   */
  id: string;
  /** The partition whose dead-letter stream holds it (0 with one partition). */
  partition: number;
  /** The stream key the entry was read from. */
  stream: string;
  /** The event type of that stream, or null if it is none of its partition's event streams. */
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

/** A page of dead letters of every partition, newest first. */
export interface DeadLetterPage {
  deadLetters: DeadLetter[];
  /** Pass as `after` for the next (older) page. */
  endCursor: string | null;
  hasNextPage: boolean;
  /** Dead letters in every partition (all pages). */
  totalCount: number;
}

/** Which dead letters a bulk redrive takes; every given criterion must match. */
export interface DeadLetterFilter {
  /** Only those read from this event type's stream (of any partition). */
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
  /** No dead letter with this id (never was, already redriven, or not an id at all). */
  | { outcome: "not-found" }
  /** It cannot go back: it names no event stream of its partition, or it has no fields. */
  | { outcome: "not-redeliverable"; deadLetter: DeadLetter; reason: string };

/** A raw entry of a dead-letter stream, with where it is. */
type DeadLetterEntry = [address: DeadLetterAddress, flat: string[]];

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
function toDeadLetter(keys: Keys, [address, flat]: DeadLetterEntry): DeadLetter {
  const { partition, entryId } = address;
  const record = fieldsToRecord(flat);
  const stream = record.stream ?? "";
  return {
    id: formatDeadLetterId(keys, partition.index, entryId),
    partition: partition.index,
    stream,
    streamType: EVENT_TYPES.find((type) => partition.stream(type) === stream) ?? null,
    entryId: record.entryId ?? "",
    group: record.group ?? "",
    consumer: record.consumer ?? "",
    reason: record.reason ?? "",
    lastError: record.lastError ?? null,
    deliveryCount: Number(record.deliveries ?? 0),
    deadLetteredAt: record.deadLetteredAt ?? new Date(Number(entryId.split("-")[0])).toISOString(),
    orderId: record.orderId ? record.orderId : null,
    fields: parseFields(record.fields),
  };
}

/**
 * Where a partition's page ends, newest first, to come just after `cursor` in the order of
 * dead letters (entry id, then partition): a partition numbered below the cursor's keeps the
 * dead letters with the cursor's very entry id, the others start strictly before it.
 */
function pageEnd(partition: PartitionKeys, cursor: DeadLetterAddress | undefined): string {
  if (!cursor) return "+";
  return partition.index < cursor.partition.index ? cursor.entryId : `(${cursor.entryId}`;
}

/**
 * One page of dead letters of every partition, newest first. `after` is the `endCursor` of the
 * previous page (a dead letter's id): the page starts just after it in the order of dead letters,
 * so redriving entries between pages never shifts what the next page holds. Each partition is
 * read for at most `first + 1` entries; the page is the newest `first` of them all.
 */
export async function listDeadLetters(
  redis: RedisClient,
  keys: Keys,
  page: { first: number; after?: string | undefined },
): Promise<DeadLetterPage> {
  const cursor = page.after ? parseDeadLetterId(keys, page.after) : undefined;
  if (page.after && !cursor) {
    throw new RangeError(`not a dead letter's id: ${page.after}`);
  }
  const [perPartition, lengths] = await Promise.all([
    Promise.all(
      keys.partitions.map(async (partition) => {
        const end = pageEnd(partition, cursor);
        const entries = await redis.xrevrange(
          partition.deadLetter,
          end,
          "-",
          "COUNT",
          page.first + 1,
        );
        return entries.map(([entryId, flat]): DeadLetterEntry => [{ partition, entryId }, flat]);
      }),
    ),
    Promise.all(keys.partitions.map((partition) => redis.xlen(partition.deadLetter))),
  ]);
  const newestFirst = perPartition.flat().sort(([a], [b]) => compareDeadLetters(b, a));
  const deadLetters = newestFirst.slice(0, page.first).map((entry) => toDeadLetter(keys, entry));
  return {
    deadLetters,
    endCursor: deadLetters.at(-1)?.id ?? null,
    hasNextPage: newestFirst.length > page.first,
    totalCount: lengths.reduce((sum, length) => sum + length, 0),
  };
}

/** Reads one dead-letter entry by its address. */
async function readEntry(
  redis: RedisClient,
  address: DeadLetterAddress,
): Promise<DeadLetterEntry | undefined> {
  const { partition, entryId } = address;
  const [entry] = await redis.xrange(partition.deadLetter, entryId, entryId);
  return entry ? [address, entry[1]] : undefined;
}

/** One dead letter by id, or undefined (also when `id` is not a dead letter's id). */
export async function getDeadLetter(
  redis: RedisClient,
  keys: Keys,
  id: string,
): Promise<DeadLetter | undefined> {
  const address = parseDeadLetterId(keys, id);
  const entry = address && (await readEntry(redis, address));
  return entry ? toDeadLetter(keys, entry) : undefined;
}

/**
 * The other dead letters of one stream entry (one per group that gave up on it), oldest first,
 * with their entry ids. They are all in its partition: every group dead-letters an entry into the
 * partition of the stream it read it from.
 */
async function siblingsOf(
  redis: RedisClient,
  address: DeadLetterAddress,
  deadLetter: DeadLetter,
): Promise<Array<{ entryId: string; group: string }>> {
  const { partition } = address;
  // Dead letters come after their entry, on the same Redis clock: start the scan there.
  const start = isStreamEntryId(deadLetter.entryId) ? deadLetter.entryId : "-";
  const entries = await redis.xrange(partition.deadLetter, start, "+");
  return entries
    .filter(([entryId]) => entryId !== address.entryId)
    .map(([entryId, flat]) => ({ entryId, record: fieldsToRecord(flat) }))
    .filter(
      ({ record }) => record.stream === deadLetter.stream && record.entryId === deadLetter.entryId,
    )
    .map(({ entryId, record }) => ({ entryId, group: record.group ?? "" }));
}

/** Why a dead letter with no event stream of its partition cannot go back. */
function unknownStreamReason(keys: Keys, stream: string): string {
  const isOfAnotherPartition = keys.partitions.some((partition) =>
    EVENT_TYPES.some((type) => partition.stream(type) === stream),
  );
  return isOfAnotherPartition ? "it names another partition's stream" : "it names no event stream";
}

/**
 * Puts one dead letter back into its stream, as a new entry with the same fields (the same
 * event id and trace context), and removes it from its dead-letter stream, atomically and at
 * most once. The entry goes back once however many groups dead-lettered it (their dead letters
 * go too), and only those groups process it again: the stream's other groups acknowledge it
 * and do nothing, since they processed the original. The effects are idempotent per order
 * anyway (reservations, charges, shipments, the read model's steps). If it fails again, it
 * comes back as a new dead letter with its new reason. It only ever goes back into a stream of
 * the dead letter's own partition.
 */
export async function redeliverDeadLetter(
  redis: RedisClient,
  keys: Keys,
  id: string,
): Promise<RedriveResult> {
  const address = parseDeadLetterId(keys, id);
  const entry = address && (await readEntry(redis, address));
  if (!address || !entry) return { outcome: "not-found" };
  const deadLetter = toDeadLetter(keys, entry);
  // Only the partition's event streams: they share its dead-letter stream's slot, and nothing
  // else is ever written from a dead letter's content.
  if (deadLetter.streamType === null) {
    return {
      outcome: "not-redeliverable",
      deadLetter,
      reason: unknownStreamReason(keys, deadLetter.stream),
    };
  }
  const original = Object.entries(deadLetter.fields).filter(
    ([name]) => name !== REDRIVE_FIELDS.from && name !== REDRIVE_FIELDS.for,
  );
  if (original.length === 0) {
    return { outcome: "not-redeliverable", deadLetter, reason: "it has no fields" };
  }
  const siblings = await siblingsOf(redis, address, deadLetter);
  const groups = [...new Set([deadLetter, ...siblings].map((letter) => letter.group))];
  // A dead letter that names no group (written by hand, say) goes back to every group.
  const isForEveryGroup = groups.some((group) => group === "");
  const fields = [
    ...original.flat(),
    ...[REDRIVE_FIELDS.from, deadLetter.id],
    ...(isForEveryGroup ? [] : [REDRIVE_FIELDS.for, groups.join(",")]),
  ];
  const [status, entryId] = await redriveScript.run(
    redis,
    [address.partition.deadLetter, deadLetter.stream],
    [
      address.entryId,
      fieldsToRecord(entry[1]).fields ?? "",
      String(siblings.length),
      ...siblings.map((other) => other.entryId),
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

/**
 * Every dead letter of every partition, oldest first in the order of dead letters, read
 * `pageSize` entries of a partition at a time as the merge needs them.
 */
async function* oldestFirst(
  redis: RedisClient,
  keys: Keys,
  pageSize: number,
): AsyncGenerator<DeadLetterEntry> {
  const readers = keys.partitions.map((partition) => ({
    partition,
    start: "-",
    entries: [] as DeadLetterEntry[],
    isDone: false,
  }));
  for (;;) {
    await Promise.all(
      readers
        .filter((reader) => reader.entries.length === 0 && !reader.isDone)
        .map(async (reader) => {
          const { partition } = reader;
          const page = await redis.xrange(
            partition.deadLetter,
            reader.start,
            "+",
            "COUNT",
            pageSize,
          );
          reader.entries = page.map(([entryId, flat]) => [{ partition, entryId }, flat]);
          reader.isDone = page.length < pageSize;
          const last = page.at(-1);
          if (last) reader.start = `(${last[0]}`;
        }),
    );
    let oldest: DeadLetterEntry[] | undefined;
    for (const { entries } of readers) {
      const head = entries[0];
      const oldestHead = oldest?.[0];
      if (head && (!oldestHead || compareDeadLetters(head[0], oldestHead[0]) < 0)) oldest = entries;
    }
    const next = oldest?.shift();
    if (!next) return;
    yield next;
  }
}

/** What a bulk redrive did. */
export interface BulkRedriveResult {
  /** The dead letters put back, oldest first, each with its new entry id. */
  redelivered: Array<{ deadLetter: DeadLetter; entryId: string }>;
  /** Matching dead letters that cannot go back, with why. */
  skipped: Array<{ deadLetter: DeadLetter; reason: string }>;
}

/**
 * Redrives up to `limit` dead letters of every partition that match `filter`, oldest first
 * (the order they failed in), each as {@link redeliverDeadLetter} does: two bulk redrives racing
 * put each one back once.
 */
export async function redeliverDeadLetters(
  redis: RedisClient,
  keys: Keys,
  filter: DeadLetterFilter,
  limit: number,
): Promise<BulkRedriveResult> {
  const result: BulkRedriveResult = { redelivered: [], skipped: [] };
  if (limit < 1) return result;
  for await (const entry of oldestFirst(redis, keys, 200)) {
    const candidate = toDeadLetter(keys, entry);
    if (!matches(candidate, filter)) continue;
    const outcome = await redeliverDeadLetter(redis, keys, candidate.id);
    if (outcome.outcome === "redelivered") {
      result.redelivered.push({ deadLetter: outcome.deadLetter, entryId: outcome.entryId });
    } else if (outcome.outcome === "not-redeliverable") {
      result.skipped.push({ deadLetter: outcome.deadLetter, reason: outcome.reason });
    }
    if (result.redelivered.length + result.skipped.length >= limit) break;
  }
  return result;
}
