import { fileURLToPath } from "node:url";
import {
  type DecodeResult,
  decodeEvent,
  EVENT_TYPES,
  type EventType,
  encodeEvent,
  fieldsToRecord,
} from "@conveyor/contract";
import { replyToRecord } from "@conveyor/runtime";
import { spawnService, waitFor } from "@conveyor/testkit";
import fc from "fast-check";
import { describe, expect, it, onTestFinished } from "vitest";
import { compareCursors } from "../feed/cursor.ts";
import { eventsOf } from "../testing/events.ts";
import { startTestGateway, type TestGateway } from "../testing/test-gateway.ts";

/**
 * Property-based fuzzing of what the consumers read: raw entries XADDed to the streams that a
 * real shipment process and the gateway's projector consume. A failure prints fast-check's seed
 * and path; replay it with `FUZZ_SEED=<seed> npx vitest run gateway/src/read-model/stream-entries`.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const settings = {
  numRuns: RUNS,
  ...(SEED === undefined ? {} : { seed: SEED }),
  endOnFailure: true,
};

const SHIPMENT = fileURLToPath(new URL("../../../services/shipment/src/main.ts", import.meta.url));
const ENVELOPE_FIELDS = [
  "id",
  "type",
  "orderId",
  "occurredAt",
  "producer",
  "version",
  "data",
  "traceparent",
  "tracestate",
  "baggage",
] as const;
const EVENT_KINDS = [
  "created",
  "reserved",
  "rejected",
  "processed",
  "failed",
  "released",
  "shipped",
] as const;

/** Field values of every kind: text, control characters, numbers, JSON, broken JSON, huge. */
const anyValue = fc.oneof(
  { weight: 3, arbitrary: fc.string() },
  { weight: 2, arbitrary: fc.string({ unit: "binary" }) },
  {
    weight: 1,
    arbitrary: fc.string({
      unit: fc.integer({ min: 0, max: 31 }).map((code) => String.fromCharCode(code)),
    }),
  },
  { weight: 1, arbitrary: fc.double().map(String) },
  { weight: 2, arbitrary: fc.json({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.json().map((json) => json.slice(0, Math.max(0, json.length - 1))) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.string({ minLength: 1, maxLength: 3 }), fc.integer({ min: 1_000, max: 100_000 }))
      .map(([unit, times]) => unit.repeat(times)),
  },
  { weight: 1, arbitrary: fc.constantFrom(...EVENT_TYPES, "gateway", "payment", "1", "", "{}") },
);
const fieldName = fc.oneof(fc.constantFrom(...ENVELOPE_FIELDS), fc.string({ maxLength: 20 }));

/** What one run adds: a stream, and the flat `[field, value, …]` of its entry. */
interface Entry {
  kind: "random" | "mutated" | "good";
  type: EventType;
  flat: string[];
}

const randomEntry: fc.Arbitrary<Entry> = fc
  .tuple(
    fc.constantFrom(...EVENT_TYPES),
    fc.array(fc.tuple(fieldName, anyValue), { minLength: 1, maxLength: 12 }),
  )
  .map(([type, pairs]) => ({ kind: "random", type, flat: pairs.flat() }));

const validEvent = fc
  .tuple(fc.constantFrom(...EVENT_KINDS), fc.uuid())
  .map(([kind, orderId]) => eventsOf(orderId)[kind]());

/** A valid envelope, then one thing done to it. */
const mutation = fc.oneof(
  fc.record({ op: fc.constant("delete" as const), field: fc.constantFrom(...ENVELOPE_FIELDS) }),
  fc.record({
    op: fc.constant("set" as const),
    field: fc.constantFrom(...ENVELOPE_FIELDS),
    value: anyValue,
  }),
  fc.record({
    op: fc.constant("set" as const),
    field: fc.constant("data"),
    value: fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
  }),
  fc.record({
    op: fc.constant("add" as const),
    field: fc.string({ maxLength: 20 }),
    value: anyValue,
  }),
  // The same field twice: the first value counts (what a reader of the entry sees).
  fc.record({
    op: fc.constant("shadow" as const),
    field: fc.constantFrom(...ENVELOPE_FIELDS),
    value: anyValue,
  }),
);
const mutatedEntry: fc.Arbitrary<Entry> = fc
  .tuple(validEvent, mutation, fc.constantFrom(...EVENT_TYPES))
  .map(([event, change, fallbackType]) => {
    const record = fieldsToRecord(encodeEvent(event));
    let prefix: string[] = [];
    if (change.op === "delete") delete record[change.field];
    else if (change.op === "set" || change.op === "add") record[change.field] = change.value;
    else prefix = [change.field, change.value];
    const flat = [...prefix, ...Object.entries(record).flat()];
    if (flat.length === 0) flat.push("nothing", "");
    // On its type's stream when it names one: what a producer with a bug would write.
    const named = record.type as EventType | undefined;
    const type = named && (EVENT_TYPES as readonly string[]).includes(named) ? named : fallbackType;
    return { kind: "mutated", type, flat };
  });

const goodEntry: fc.Arbitrary<Entry> = validEvent.map((event) => ({
  kind: "good",
  type: event.type,
  flat: encodeEvent(event),
}));

const entries = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: randomEntry },
    { weight: 4, arbitrary: mutatedEntry },
    { weight: 2, arbitrary: goodEntry },
  ),
  { minLength: 1, maxLength: 5 },
);

/** The consumer groups reading a stream here: the projector's, and shipment's for its input. */
function groupsOf(type: EventType): string[] {
  return type === "payment.processed" ? ["gateway", "shipment"] : ["gateway"];
}

/** Whether a group must dead-letter an entry: it does not decode, or the group cannot use it. */
function isRefusedBy(group: string, decoded: DecodeResult): boolean {
  if (!decoded.ok) return true;
  return group === "shipment" && decoded.event.type !== "payment.processed";
}

/** Whether `group` is done with the entry: delivered (and acknowledged or dead-lettered). */
async function isSettled(test: TestGateway, stream: string, group: string, id: string) {
  const groups = (await test.redis.xinfo("GROUPS", stream)) as unknown[];
  const info = groups.map(replyToRecord).find((candidate) => candidate.name === group);
  if (!info || compareCursors(String(info["last-delivered-id"]), id) < 0) return false;
  const pending = (await test.redis.xpending(stream, group, id, id, 1)) as unknown[];
  return pending.length === 0;
}

describe("stream entries under fuzzing", () => {
  it(
    "never crash a consumer; every malformed entry is dead-lettered with its reason, good ones go through",
    async () => {
      const test = await startTestGateway({ CLAIM_IDLE_MS: "500", CLAIM_INTERVAL_MS: "250" });
      const shipment = await spawnService({
        name: "shipment",
        entry: SHIPMENT,
        env: {
          REDIS_URL: test.redisUrl,
          STREAM_PREFIX: test.prefix,
          LOG_LEVEL: "warn",
          TRIM_INTERVAL_MS: "3600000",
          CLAIM_IDLE_MS: "500",
          CLAIM_INTERVAL_MS: "250",
          OTEL_SDK_DISABLED: "true",
        },
      });
      onTestFinished(async (context) => {
        if (context.task.result?.state === "fail") {
          console.error(`--- shipment output\n${shipment.output.join("").slice(-5_000)}`);
        }
        await shipment.kill();
      });
      await shipment.waitUntilReady();
      let hasExited = false;
      void shipment.exited.then(() => {
        hasExited = true;
      });

      let deadLettersSeen = "0-0";
      const totals = { entries: 0, refusals: 0, deadLetters: 0, shipped: 0, projected: 0 };

      await fc.assert(
        fc.asyncProperty(entries, async (batch) => {
          const added: Array<{
            kind: Entry["kind"];
            stream: string;
            type: EventType;
            id: string;
            decoded: DecodeResult;
          }> = [];
          for (const entry of batch) {
            const stream = test.keys.partition(0).stream(entry.type);
            const id = (await test.redis.xadd(stream, "*", ...entry.flat)) as string;
            // Judge what Redis holds (a lone surrogate, say, was stored as U+FFFD).
            const [[, stored] = ["", []]] = await test.redis.xrange(stream, id, id);
            const decoded = decodeEvent(fieldsToRecord(stored));
            if (entry.kind === "good") expect(decoded.ok, JSON.stringify(decoded)).toBe(true);
            added.push({ kind: entry.kind, stream, type: entry.type, id, decoded });
          }
          await waitFor(
            "every group to settle the entries",
            async () => {
              if (hasExited) throw new Error(`shipment exited:\n${shipment.output.join("")}`);
              for (const entry of added) {
                for (const group of groupsOf(entry.type)) {
                  if (!(await isSettled(test, entry.stream, group, entry.id))) return undefined;
                }
              }
              return true;
            },
            15_000,
            10,
          );

          const fresh = await test.redis.xrange(
            test.keys.partition(0).deadLetter,
            `(${deadLettersSeen}`,
            "+",
          );
          deadLettersSeen = fresh.at(-1)?.[0] ?? deadLettersSeen;
          const deadLetters = fresh.map(([, flat]) => fieldsToRecord(flat));
          for (const entry of added) {
            for (const group of groupsOf(entry.type)) {
              const letters = deadLetters.filter(
                (letter) =>
                  letter.stream === entry.stream &&
                  letter.entryId === entry.id &&
                  letter.group === group,
              );
              const isRefused = isRefusedBy(group, entry.decoded);
              expect(letters, `${group} on ${entry.type} ${entry.id}`).toHaveLength(
                isRefused ? 1 : 0,
              );
              if (isRefused) {
                expect(letters[0]?.reason?.length ?? 0).toBeGreaterThan(0);
                if (!entry.decoded.ok) expect(letters[0]?.reason).toBe(entry.decoded.reason);
                totals.refusals += 1;
              }
            }
            if (!entry.decoded.ok) continue;
            const { event } = entry.decoded;
            if (entry.kind === "good" && event.type === "order.created") {
              // Projected: a new order's history starts with it.
              const history = await test.redis.lrange(test.keys.orderEvents(event.orderId), 0, -1);
              expect(history.some((record) => record.includes(event.id))).toBe(true);
              totals.projected += 1;
            }
            if (event.type === "payment.processed") {
              await waitFor(`a shipment for ${event.orderId}`, async () => {
                const shipped = await test.redis.xrange(
                  test.keys.partition(0).stream("shipment.created"),
                  "-",
                  "+",
                );
                return shipped.some(([, flat]) => fieldsToRecord(flat).orderId === event.orderId)
                  ? true
                  : undefined;
              });
              totals.shipped += 1;
            }
          }
          totals.entries += added.length;
          totals.deadLetters += deadLetters.length;
        }),
        settings,
      );

      // Every dead letter was one the oracle expected, and the consumers are still up.
      expect(totals.deadLetters).toBe(totals.refusals);
      expect(totals.refusals).toBeGreaterThan(0);
      expect(totals.shipped).toBeGreaterThan(0);
      expect(hasExited).toBe(false);
      expect((await fetch(`http://127.0.0.1:${shipment.healthPort}/readyz`)).status).toBe(200);
      expect((await fetch(test.gateway.url.replace("/graphql", "/readyz"))).status).toBe(200);
      console.info(`stream fuzzing: ${JSON.stringify(totals)}`);
    },
    Math.max(60_000, RUNS * 100),
  );
});
