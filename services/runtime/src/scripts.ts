import { defineScript } from "./lua.ts";
import type { RedisClient } from "./redis.ts";

/**
 * Acknowledges entries and publishes each one's output events; each entry is its own atomic
 * step, gated by its own XACK: an entry that was already acknowledged (a redelivered copy
 * finished first) publishes nothing, so each input entry yields its outputs exactly once.
 * Every call is `pcall`ed, so that one entry's error (a key of the wrong type, say) never
 * aborts the others: it becomes that entry's reply instead.
 *
 * The failure key (the last handler error) is deleted only for an entry delivered before: on a
 * first delivery no handler can have failed on it yet.
 *
 * KEYS: per entry, its input stream, its failure key, then one output stream per event.
 * ARGV: the entry count, then per entry: group, entry id, '1' if delivered before, its output
 * count, then per output event its field count followed by its fields.
 * Reply: per entry, 1 (acknowledged and published), 0 (already acknowledged) or an error message.
 */
const ACK_AND_PUBLISH = `
local replies, k, a = {}, 1, 2
for e = 1, tonumber(ARGV[1]) do
  local acked = redis.pcall('XACK', KEYS[k], ARGV[a], ARGV[a + 1])
  local reply = type(acked) == 'table' and acked.err or acked
  if reply == 1 and ARGV[a + 2] == '1' then redis.pcall('DEL', KEYS[k + 1]) end
  local outputs = tonumber(ARGV[a + 3])
  k, a = k + 2, a + 4
  for _ = 1, outputs do
    local count = tonumber(ARGV[a])
    if acked == 1 then
      local added = redis.pcall('XADD', KEYS[k], '*', unpack(ARGV, a + 1, a + count))
      if type(added) == 'table' and reply == 1 then reply = added.err end
    end
    k, a = k + 1, a + count + 1
  end
  replies[e] = reply
end
return replies
`;

/**
 * Moves an entry to the dead-letter stream: acknowledges it and records it with the reason and
 * the last error a handler raised for it, atomically, exactly once.
 *
 * KEYS: input stream, dead-letter stream, failure key.
 * ARGV: group, entry id, then the dead-letter entry's fields.
 */
const DEAD_LETTER = `
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
local fields = { unpack(ARGV, 3) }
local lastError = redis.call('GET', KEYS[3])
if lastError then
  fields[#fields + 1] = 'lastError'
  fields[#fields + 1] = lastError
  redis.call('DEL', KEYS[3])
end
redis.call('XADD', KEYS[2], '*', unpack(fields))
return 1
`;

const ackAndPublishScript = defineScript<Array<number | string>>(ACK_AND_PUBLISH);
const deadLetterScript = defineScript<number>(DEAD_LETTER);

/** One output of an atomic commit: the stream to add to and the entry's flat fields. */
export interface StreamEntryToAdd {
  stream: string;
  fields: readonly string[];
}

/** The input entry of a commit. Without `deliveryCount`, it counts as delivered before. */
export interface EntryToAck {
  stream: string;
  group: string;
  entryId: string;
  failureKey: string;
  deliveryCount?: number;
}

/** One entry's commit: the entry to acknowledge and the outputs to add with it. */
export interface EntryCommit {
  input: EntryToAck;
  outputs: readonly StreamEntryToAdd[];
}

/**
 * Commits several entries in one script call, each atomically and gated by its own XACK. Its
 * keys must share one hash slot (with Redis Cluster). Resolves, per entry in order, `true`
 * (acknowledged and published), `false` (already acknowledged: nothing added) or the error
 * Redis gave for that entry alone.
 */
export async function ackAndPublishMany(
  redis: RedisClient,
  commits: readonly EntryCommit[],
): Promise<Array<boolean | Error>> {
  const keys: string[] = [];
  const args: string[] = [String(commits.length)];
  for (const { input, outputs } of commits) {
    keys.push(input.stream, input.failureKey);
    const isRedelivery = input.deliveryCount === undefined || input.deliveryCount > 1;
    args.push(input.group, input.entryId, isRedelivery ? "1" : "0", String(outputs.length));
    for (const output of outputs) {
      keys.push(output.stream);
      args.push(String(output.fields.length), ...output.fields);
    }
  }
  // Batched already (one call per turn, see `createCommitBatcher`): written at once.
  const replies = await ackAndPublishScript.runBatched(redis, keys, args);
  return replies.map((reply) => (typeof reply === "string" ? new Error(reply) : reply === 1));
}

/**
 * Acknowledges `entryId` of `group` on `inputStream` and adds `outputs`, atomically.
 * Resolves `false` when the entry had already been acknowledged (and nothing was added).
 */
export async function ackAndPublish(
  redis: RedisClient,
  input: EntryToAck,
  outputs: readonly StreamEntryToAdd[],
): Promise<boolean> {
  const [reply] = await ackAndPublishMany(redis, [{ input, outputs }]);
  if (reply instanceof Error) throw reply;
  return reply === true;
}

/**
 * Acknowledges `entryId` and records it on the dead-letter stream with `fields` (and the last
 * handler error, if one was recorded), atomically. Resolves `false` if it was already acked.
 */
export async function ackAndDeadLetter(
  redis: RedisClient,
  input: { stream: string; group: string; entryId: string; failureKey: string },
  deadLetterStream: string,
  fields: readonly string[],
): Promise<boolean> {
  const result = await deadLetterScript.run(
    redis,
    [input.stream, deadLetterStream, input.failureKey],
    [input.group, input.entryId, ...fields],
  );
  return result === 1;
}
