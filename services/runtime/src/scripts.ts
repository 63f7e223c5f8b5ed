import type { Redis } from "ioredis";
import { defineScript } from "./lua.ts";

/**
 * Acknowledges an entry and publishes its output events as one atomic step. The XACK is the
 * gate: if the entry was already acknowledged (a redelivered copy finished first), nothing is
 * published, so each input entry yields its outputs exactly once.
 *
 * KEYS: input stream, failure key, then one output stream per event.
 * ARGV: group, entry id, then per output event its field count followed by its fields.
 */
const ACK_AND_PUBLISH = `
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('DEL', KEYS[2])
local at = 3
for k = 3, #KEYS do
  local count = tonumber(ARGV[at])
  redis.call('XADD', KEYS[k], '*', unpack(ARGV, at + 1, at + count))
  at = at + count + 1
end
return 1
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

const ackAndPublishScript = defineScript<number>(ACK_AND_PUBLISH);
const deadLetterScript = defineScript<number>(DEAD_LETTER);

/** One output of an atomic commit: the stream to add to and the entry's flat fields. */
export interface StreamEntryToAdd {
  stream: string;
  fields: readonly string[];
}

/**
 * Acknowledges `entryId` of `group` on `inputStream` and adds `outputs`, atomically.
 * Resolves `false` when the entry had already been acknowledged (and nothing was added).
 */
export async function ackAndPublish(
  redis: Redis,
  input: { stream: string; group: string; entryId: string; failureKey: string },
  outputs: readonly StreamEntryToAdd[],
): Promise<boolean> {
  const keys = [input.stream, input.failureKey, ...outputs.map((output) => output.stream)];
  const args: string[] = [input.group, input.entryId];
  for (const output of outputs) args.push(String(output.fields.length), ...output.fields);
  return (await ackAndPublishScript.run(redis, keys, args)) === 1;
}

/**
 * Acknowledges `entryId` and records it on the dead-letter stream with `fields` (and the last
 * handler error, if one was recorded), atomically. Resolves `false` if it was already acked.
 */
export async function ackAndDeadLetter(
  redis: Redis,
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
