import type { Keys, PartitionKeys } from "@conveyor/contract";

/**
 * A dead letter's public id: where it is, among the partitions' dead-letter streams.
 *
 * - With one partition it is the dead letter's entry id, `1700000000000-0`: the ids Conveyor
 *   always had.
 * - With more it is `<partition>/<entry id>`, `3/1700000000000-0`: the partition's number in
 *   decimal (no sign, no leading zero, below the partition count), a slash, the entry id in that
 *   partition's dead-letter stream.
 *
 * Parsing is strict: an id of the other form, a partition out of range or an entry id that is not
 * one (`<ms>-<seq>`, each at most 2^64 - 1) is no id at all, so an id read under one layout is
 * never taken for another dead letter under another.
 *
 * Dead letters are totally ordered by entry id, then partition: each partition's dead-letter
 * stream has its own ids, and two streams may hold the same one. Newest first is that order
 * reversed; a page cursor is the last id of the previous page.
 */
export interface DeadLetterAddress {
  partition: PartitionKeys;
  /** The dead letter's entry id in its partition's dead-letter stream. */
  entryId: string;
}

const ENTRY_ID = /^(\d{1,20})-(\d{1,20})$/;
const QUALIFIED_ID = /^(0|[1-9]\d{0,3})\/(.*)$/s;
const MAX_ID_PART = 2n ** 64n - 1n;

/** Whether a string is a stream entry id (`<ms>-<seq>`) that Redis accepts. */
export function isStreamEntryId(value: string): boolean {
  const match = ENTRY_ID.exec(value);
  return (
    match !== null &&
    BigInt(match[1] as string) <= MAX_ID_PART &&
    BigInt(match[2] as string) <= MAX_ID_PART
  );
}

/** The public id of the dead letter `entryId` of partition `partition` (see {@link DeadLetterAddress}). */
export function formatDeadLetterId(keys: Keys, partition: number, entryId: string): string {
  return keys.partitions.length === 1 ? entryId : `${partition}/${entryId}`;
}

/** Where the dead letter of a public id is, or undefined when `id` is not one under `keys`. */
export function parseDeadLetterId(keys: Keys, id: string): DeadLetterAddress | undefined {
  if (keys.partitions.length === 1) {
    const partition = keys.partitions[0];
    return partition && isStreamEntryId(id) ? { partition, entryId: id } : undefined;
  }
  const match = QUALIFIED_ID.exec(id);
  const partition = match ? keys.partitions[Number(match[1])] : undefined;
  const entryId = match?.[2] ?? "";
  return partition && isStreamEntryId(entryId) ? { partition, entryId } : undefined;
}

/** Whether `id` is a dead letter's public id under `keys`. */
export function isDeadLetterId(keys: Keys, id: string): boolean {
  return parseDeadLetterId(keys, id) !== undefined;
}

/** Orders two stream entry ids by time, then sequence (negative when `a` is older). */
export function compareEntryIds(a: string, b: string): number {
  const [aMs = 0n, aSeq = 0n] = a.split("-").map(BigInt);
  const [bMs = 0n, bSeq = 0n] = b.split("-").map(BigInt);
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  return aSeq === bSeq ? 0 : aSeq < bSeq ? -1 : 1;
}

/** The total order of dead letters: entry id, then partition (negative when `a` is older). */
export function compareDeadLetters(a: DeadLetterAddress, b: DeadLetterAddress): number {
  return compareEntryIds(a.entryId, b.entryId) || a.partition.index - b.partition.index;
}
