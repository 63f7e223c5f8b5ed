import { untraced } from "@conveyor/runtime";
import {
  createSourceEventStream,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  type FieldNode,
  GraphQLError,
  getOperationAST,
  locatedError,
  print,
} from "graphql";
import type { MaskError } from "graphql-yoga";
import type { FeedPosition } from "../feed/cursor.ts";
import type { EventHub } from "../feed/event-hub.ts";
import { recordSubscriptionEnd } from "../metrics.ts";
import type { OrderEvent } from "../read-model/records.ts";
import { type Cohort, createCohort } from "./cohort.ts";
import { type EventFeed, isEventFeed } from "./event-feed.ts";
import type { EventStream } from "./event-stream.ts";
import { COMPLETE, type EventFrame, frameOf, operationFrames } from "./frames.ts";
import { createMember, type MemberSink } from "./member.ts";

/** Options of {@link createSubscriptionMultiplexer}. */
export interface MultiplexerOptions {
  hub: EventHub;
  /**
   * The authorization scope of an operation's context ("anonymous", "operator",
   * "customer:<id>", …): part of the cohort key, so that subscribers who may see different
   * results never share one.
   */
  scopeOf(contextValue: unknown): string;
  /**
   * When the credentials of an operation's context stop being accepted (a token's expiry), in
   * ms since the epoch; its subscriber is then ended with {@link expiredError}. Per subscriber,
   * not per cohort: subscribers of one scope share frames, never their tokens.
   */
  expiresAtMsOf(contextValue: unknown): number | undefined;
  /** The error a subscription ends with when its credentials expire. */
  expiredError(): Error;
  /** Masks unexpected errors (Yoga's masking, as for every other result). */
  maskError: MaskError;
  isDev: boolean;
}

/** Where one subscriber's frames go: a whole event stream, or one operation of a stream. */
export interface SubscriptionTarget {
  stream: EventStream;
  /** graphql-sse single connection mode: the operation's id in that stream. */
  operationId?: string | undefined;
  /** Runs once the subscription ended, however it ended. */
  onEnd?: () => void;
}

/**
 * A subscription that has passed its resolver (arguments coerced, authorization checked) and
 * waits for a transport to attach it. Iterating it instead maps its events one by one, as any
 * executor would, for a transport that cannot take shared frames.
 */
export interface PreparedSubscription extends AsyncIterable<ExecutionResult> {
  /** Joins the cohort of identical subscriptions and starts delivering. */
  attach(target: SubscriptionTarget): { close(): void };
}

/** What the multiplexer holds now. */
export interface MultiplexerStats {
  /** Groups of identical subscriptions. */
  cohorts: number;
  /** Subscribers in them. */
  members: number;
  /** Executions of subscription events so far: one per event per cohort. */
  executions: number;
}

/** Shares one execution per event among identical subscriptions. */
export interface SubscriptionMultiplexer {
  /**
   * Runs the subscription field's resolver: an ExecutionResult with errors if it refused (bad
   * arguments, not allowed), else the prepared subscription.
   */
  prepare(args: ExecutionArgs): Promise<ExecutionResult | PreparedSubscription>;
  stats(): MultiplexerStats;
}

/** Longest delay one Node timer takes (about 24.8 days); longer waits are chained. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Runs `expire` at `atMs` (never when undefined), until cancelled. */
function expireAt(atMs: number | undefined, expire: () => void): { cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const wait = () => {
    if (atMs === undefined) return;
    const remainingMs = atMs - Date.now();
    if (remainingMs <= 0) return expire();
    timer = setTimeout(wait, Math.min(remainingMs, MAX_TIMER_MS));
    timer.unref();
  };
  wait();
  return { cancel: () => clearTimeout(timer) };
}

/** The root field of a subscription operation. */
function fieldOf(args: ExecutionArgs): FieldNode | undefined {
  const operation = getOperationAST(args.document, args.operationName);
  return operation?.selectionSet.selections.find(
    (selection): selection is FieldNode => selection.kind === "Field",
  );
}

const SOURCE_TEXT = new WeakMap<DocumentNode, string>();

/** A document's text: the source it was parsed from, or its printed form. */
function documentText(document: DocumentNode): string {
  let text = document.loc?.source.body ?? SOURCE_TEXT.get(document);
  if (text === undefined) {
    text = print(document);
    SOURCE_TEXT.set(document, text);
  }
  return text;
}

/**
 * Groups subscribers into cohorts keyed by operation (document and operation name), variables
 * and authorization scope, the way Hasura multiplexes live queries. A cohort listens to the event
 * hub once, executes its operation once per event with the event as the root value, serialises
 * the result once, and hands the same bytes to every member's connection. Each member keeps its
 * own cursor, history and bounded backlog (see `createMember`), so joining late, reading slowly
 * or leaving never disturbs the others. The cohort's context is its first member's; resolvers
 * below a subscription field must therefore not read the per-request context, and must resolve
 * synchronously (an event's frame is made while the hub dispatches it).
 */
export function createSubscriptionMultiplexer(
  options: MultiplexerOptions,
): SubscriptionMultiplexer {
  const { hub, maskError, isDev } = options;
  const cohorts = new Map<string, Cohort<EventFrame>>();
  let retiredExecutions = 0;

  function mask(errors: readonly GraphQLError[]): GraphQLError[] {
    return errors.map((error) => maskError(error, "Unexpected error.", isDev) as GraphQLError);
  }

  function renderer(args: ExecutionArgs) {
    return (event: OrderEvent): EventFrame => {
      // Untraced: it runs once per event for the whole cohort, outside any request or message.
      let result = untraced(() => execute({ ...args, rootValue: event })) as ExecutionResult;
      if (result instanceof Promise) {
        void result.catch(() => {});
        result = { data: null, errors: [new GraphQLError("subscription fields must be sync")] };
      }
      return frameOf(result.errors ? { ...result, errors: mask(result.errors) } : result);
    };
  }

  /** The result a subscriber gets when its subscription fails: the error, at its field. */
  function failureOf(args: ExecutionArgs, error: Error): EventFrame {
    const field = fieldOf(args);
    const path = field ? [field.alias?.value ?? field.name.value] : undefined;
    return frameOf({ data: null, errors: mask([locatedError(error, field ? [field] : [], path)]) });
  }

  function cohortFor(key: string, feed: EventFeed, args: ExecutionArgs): Cohort<EventFrame> {
    let cohort = cohorts.get(key);
    if (!cohort) {
      const created = createCohort({
        hub,
        orderId: feed.orderId,
        render: renderer(args),
        onEmpty: () => {
          retiredExecutions += created.executions;
          if (cohorts.get(key) === created) cohorts.delete(key);
        },
      });
      cohort = created;
      cohorts.set(key, cohort);
    }
    return cohort;
  }

  function sinkFor(target: SubscriptionTarget, args: ExecutionArgs): MemberSink<EventFrame> {
    const { stream, operationId } = target;
    const framing = operationId === undefined ? undefined : operationFrames(operationId);
    const writeResult = (frame: EventFrame) =>
      framing
        ? stream.write(framing.nextPrefix, frame.json, framing.nextSuffix)
        : stream.write(frame.sse);
    return {
      isReady: stream.isReady,
      whenReady: stream.whenReady,
      write: (_event, frame) => writeResult(frame),
      end(error) {
        if (error) {
          recordSubscriptionEnd(fieldOf(args)?.name.value ?? "unknown", error);
          writeResult(failureOf(args, error));
        }
        if (framing) {
          stream.write(framing.complete);
        } else {
          stream.write(COMPLETE);
          stream.end();
        }
        target.onEnd?.();
      },
    };
  }

  function prepared(feed: EventFeed, args: ExecutionArgs): PreparedSubscription {
    const key = [
      options.scopeOf(args.contextValue),
      args.operationName ?? "",
      JSON.stringify(args.variableValues ?? {}),
      documentText(args.document),
    ].join("\n");
    return {
      attach(target) {
        let hasEnded = false;
        // Set once the member exists; a token expired already ends it before that.
        let expiry: { cancel(): void } | undefined;
        const onEnd = () => {
          if (hasEnded) return;
          hasEnded = true;
          expiry?.cancel();
          target.onEnd?.();
        };
        const cohort = cohortFor(key, feed, args);
        let position: FeedPosition = [];
        const member = createMember<EventFrame>({
          capacity: feed.capacity,
          after: feed.after,
          isWholeFeed: feed.orderId === undefined,
          sink: sinkFor({ ...target, onEnd }, args),
          render: cohort.frameOf,
          catchUp: () => feed.catchUp(position),
          detach: () => cohort.leave(member),
          overflowError: feed.overflowError,
        });
        cohort.join(member);
        position = cohort.position;
        expiry = expireAt(options.expiresAtMsOf(args.contextValue), () =>
          member.fail(options.expiredError()),
        );
        if (hasEnded) expiry.cancel();
        target.stream.onClose(() => {
          member.close();
          onEnd();
        });
        void member.start();
        return {
          close() {
            member.close();
            onEnd();
          },
        };
      },
      async *[Symbol.asyncIterator]() {
        for await (const item of feed)
          yield execute({ ...args, rootValue: item }) as ExecutionResult;
      },
    };
  }

  return {
    async prepare(args) {
      const source = await createSourceEventStream(args);
      if (!isEventFeed(source)) {
        if (Symbol.asyncIterator in source) {
          throw new Error("every subscription field must return an EventFeed");
        }
        return source;
      }
      return prepared(source, args);
    },
    stats() {
      let members = 0;
      let executions = retiredExecutions;
      for (const cohort of cohorts.values()) {
        members += cohort.size;
        executions += cohort.executions;
      }
      return { cohorts: cohorts.size, members, executions };
    },
  };
}
