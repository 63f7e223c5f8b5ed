/**
 * The operator's dead-letter tools: look at what could not be processed, and send it back.
 *
 * Every field here is an operator's action, and only those: each runs the `operatorOnly` rule
 * first (a dead letter holds any customer's order), as {@link OPERATOR_FIELDS} lists.
 */
import { EVENT_TYPES, type EventType, type Keys } from "@conveyor/contract";
import {
  type DeadLetter,
  type DeadLetterPage,
  formatDeadLetterId,
  getDeadLetter,
  isDeadLetterId,
  listDeadLetters,
  redeliverDeadLetter,
  redeliverDeadLetters,
} from "@conveyor/runtime";
import { operatorOnly } from "../auth/rules.ts";
import { gatewayError } from "../errors.ts";
import { builder } from "./builder.ts";
import { PageInfoRef } from "./order.ts";

const MAX_PAGE_SIZE = 100;
const MAX_REDRIVE_LIMIT = 1_000;

/** The root fields of this file: every one is operator-only. */
export const OPERATOR_FIELDS = {
  Query: ["deadLetters", "deadLetter"],
  Mutation: ["redeliverDeadLetter", "redeliverDeadLetters"],
} as const;

/** Marks a field as an operator's, for tools that read the schema. */
const operatorExtension = { isOperatorOnly: true } as const;

/** The GraphQL `DeadLetter` type. */
export const DeadLetterRef = builder.objectRef<DeadLetter>("DeadLetter").implement({
  description:
    "An entry that could not be processed: moved out of its stream with the reason, so that the pipeline goes on. Redeliver it once its cause is fixed.",
  fields: (t) => ({
    id: t.exposeID("id", {
      description:
        "The dead letter's id: its entry id in the dead-letter stream (1700000000000-0) with one partition; with several, the partition's number, a slash and the entry id in that partition's dead-letter stream (3/1700000000000-0).",
    }),
    stream: t.string({
      description:
        "The dotted event type of the stream it was read from (order.created, …), or the stream key if it is none of them.",
      resolve: (letter) => letter.streamType ?? letter.stream,
    }),
    entryId: t.exposeString("entryId", { description: "Its entry id in that stream." }),
    service: t.exposeString("group", {
      description: "The service (consumer group) that gave up on it.",
    }),
    consumer: t.exposeString("consumer"),
    reason: t.exposeString("reason", { description: "Why it was dead-lettered." }),
    lastError: t.exposeString("lastError", {
      nullable: true,
      description: "The last error a handler raised for it, when it kept failing.",
    }),
    deliveryCount: t.exposeInt("deliveryCount", {
      description: "How many times it had been delivered.",
    }),
    deadLetteredAt: t.expose("deadLetteredAt", { type: "DateTime" }),
    orderId: t.exposeString("orderId", { nullable: true }),
    fields: t.expose("fields", {
      type: "JSON",
      description: "The entry's fields as they were read (an object of strings): what goes back.",
    }),
  }),
});

const DeadLetterEdgeRef = builder.objectRef<DeadLetter>("DeadLetterEdge").implement({
  fields: (t) => ({
    cursor: t.exposeString("id"),
    node: t.field({ type: DeadLetterRef, resolve: (letter) => letter }),
  }),
});

type DeadLetterConnection = DeadLetterPage & { after: string | undefined };

const DeadLetterConnectionRef = builder
  .objectRef<DeadLetterConnection>("DeadLetterConnection")
  .implement({
    description:
      "A page of dead letters of every partition, newest first (Relay-style cursor connection): by entry id, then partition.",
    fields: (t) => ({
      edges: t.field({ type: [DeadLetterEdgeRef], resolve: (page) => page.deadLetters }),
      nodes: t.field({ type: [DeadLetterRef], resolve: (page) => page.deadLetters }),
      pageInfo: t.field({
        type: PageInfoRef,
        resolve: (page) => ({
          hasNextPage: page.hasNextPage,
          hasPreviousPage: page.after !== undefined,
          startCursor: page.deadLetters[0]?.id ?? null,
          endCursor: page.endCursor,
        }),
      }),
      totalCount: t.exposeInt("totalCount", { description: "Dead letters (all pages)." }),
    }),
  });

const DeadLetterFilterRef = builder.inputType("DeadLetterFilter", {
  description: "Which dead letters to redeliver; every criterion given must match.",
  fields: (t) => ({
    stream: t.string({ description: "A dotted event type: only those read from its stream." }),
    service: t.string({ description: "Only those the service (consumer group) gave up on." }),
    orderId: t.string(),
    reasonContains: t.string({ description: "Only those whose reason contains this text." }),
  }),
});

const RedeliverDeadLetterPayloadRef = builder
  .objectRef<{ deadLetter: DeadLetter; entryId: string }>("RedeliverDeadLetterPayload")
  .implement({
    fields: (t) => ({
      deadLetter: t.field({
        type: DeadLetterRef,
        description: "The dead letter, as it was before it went back.",
        resolve: (payload) => payload.deadLetter,
      }),
      entryId: t.exposeString("entryId", {
        description: "The entry's new id in its stream.",
      }),
    }),
  });

const SkippedDeadLetterRef = builder
  .objectRef<{ deadLetter: DeadLetter; reason: string }>("SkippedDeadLetter")
  .implement({
    fields: (t) => ({
      deadLetter: t.field({ type: DeadLetterRef, resolve: (skipped) => skipped.deadLetter }),
      reason: t.exposeString("reason", { description: "Why it cannot be redelivered." }),
    }),
  });

const RedeliverDeadLettersPayloadRef = builder
  .objectRef<{
    redelivered: Array<{ deadLetter: DeadLetter; entryId: string }>;
    skipped: Array<{ deadLetter: DeadLetter; reason: string }>;
  }>("RedeliverDeadLettersPayload")
  .implement({
    fields: (t) => ({
      redeliveredCount: t.int({ resolve: (payload) => payload.redelivered.length }),
      redelivered: t.field({
        type: [RedeliverDeadLetterPayloadRef],
        description: "What went back, oldest first.",
        resolve: (payload) => payload.redelivered,
      }),
      skipped: t.field({
        type: [SkippedDeadLetterRef],
        description: "Matching dead letters that cannot go back (they name no event stream).",
        resolve: (payload) => payload.skipped,
      }),
    }),
  });

function checkedId(keys: Keys, name: string, id: string): string {
  if (!isDeadLetterId(keys, id)) {
    const example = formatDeadLetterId(keys, 0, "1700000000000-0");
    throw gatewayError("BAD_USER_INPUT", `${name} must be a dead letter's id, such as ${example}`);
  }
  return id;
}

function checkedStream(stream: string | null | undefined): EventType | undefined {
  if (stream === null || stream === undefined) return undefined;
  const type = EVENT_TYPES.find((candidate) => candidate === stream);
  if (!type)
    throw gatewayError("BAD_USER_INPUT", `stream must be one of ${EVENT_TYPES.join(", ")}`);
  return type;
}

function checkedText(name: string, value: string | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (value.length === 0 || value.length > 256) {
    throw gatewayError("BAD_USER_INPUT", `${name} must be 1 to 256 characters`);
  }
  return value;
}

builder.queryFields((t) => ({
  deadLetters: t.field({
    type: DeadLetterConnectionRef,
    description: "Dead letters, newest first (operator-only).",
    extensions: operatorExtension,
    args: {
      first: t.arg.int({ defaultValue: 20, description: `1 to ${MAX_PAGE_SIZE}.` }),
      after: t.arg.string({ description: "The endCursor of the previous page." }),
    },
    resolve: async (_root, args, { services, auth }) => {
      operatorOnly(auth);
      const first = args.first ?? 20;
      if (first < 1 || first > MAX_PAGE_SIZE) {
        throw gatewayError("BAD_USER_INPUT", `first must be between 1 and ${MAX_PAGE_SIZE}`);
      }
      const after = args.after ? checkedId(services.keys, "after", args.after) : undefined;
      const page = await listDeadLetters(services.redis, services.keys, { first, after });
      return { ...page, after };
    },
  }),
  deadLetter: t.field({
    type: DeadLetterRef,
    nullable: true,
    description: "One dead letter (operator-only); null once it has been redelivered.",
    extensions: operatorExtension,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, { services, auth }) => {
      operatorOnly(auth);
      const id = checkedId(services.keys, "id", String(args.id));
      return (await getDeadLetter(services.redis, services.keys, id)) ?? null;
    },
  }),
}));

builder.mutationFields((t) => ({
  redeliverDeadLetter: t.field({
    type: RedeliverDeadLetterPayloadRef,
    description:
      "Puts a dead letter back into its stream, to be processed again, and removes it from the dead letters, in one step (operator-only). A second call finds nothing (NOT_FOUND) and does nothing. Every step is idempotent per order, so an effect already done is not done again; if it fails again, it comes back as a new dead letter with its new reason.",
    extensions: operatorExtension,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, { services, auth }) => {
      operatorOnly(auth);
      const id = checkedId(services.keys, "id", String(args.id));
      const result = await redeliverDeadLetter(services.redis, services.keys, id);
      switch (result.outcome) {
        case "redelivered":
          return { deadLetter: result.deadLetter, entryId: result.entryId };
        case "not-found":
          throw gatewayError("NOT_FOUND", `No dead letter ${id}: it was redelivered already?`, {
            id,
          });
        case "not-redeliverable":
          throw gatewayError(
            "BAD_USER_INPUT",
            `Dead letter ${id} cannot go back: ${result.reason}`,
          );
      }
    },
  }),
  redeliverDeadLetters: t.field({
    type: RedeliverDeadLettersPayloadRef,
    description:
      "Redelivers the dead letters that match the filter, oldest first, each as redeliverDeadLetter does (operator-only). An empty filter takes every dead letter, up to the limit.",
    extensions: operatorExtension,
    args: {
      filter: t.arg({ type: DeadLetterFilterRef, required: true }),
      limit: t.arg.int({ defaultValue: 100, description: `1 to ${MAX_REDRIVE_LIMIT}.` }),
    },
    resolve: async (_root, { filter, limit }, { services, auth }) => {
      operatorOnly(auth);
      const most = limit ?? 100;
      if (most < 1 || most > MAX_REDRIVE_LIMIT) {
        throw gatewayError("BAD_USER_INPUT", `limit must be between 1 and ${MAX_REDRIVE_LIMIT}`);
      }
      return redeliverDeadLetters(
        services.redis,
        services.keys,
        {
          streamType: checkedStream(filter.stream),
          group: checkedText("service", filter.service),
          orderId: checkedText("orderId", filter.orderId),
          reasonContains: checkedText("reasonContains", filter.reasonContains),
        },
        most,
      );
    },
  }),
}));
