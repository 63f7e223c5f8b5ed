import type { ExecutionResult, SubscriptionForwarder, SubscriptionOperation } from "@urql/core";
import type { Client as SseClient } from "graphql-sse";
import type { ConnectionMonitor } from "./connection.ts";

/** Options of {@link createResumableSubscriptions}. */
export interface ResumableSubscriptionsOptions {
  /** The graphql-sse client (distinct connections mode, retrying network errors itself). */
  sse: SseClient;
  monitor: ConnectionMonitor;
  /**
   * How long to wait before subscribing again after the server ended a stream (a gateway that
   * shuts down ends its streams cleanly) or closed a slow subscriber; grows with each attempt.
   */
  resubscribeDelayMs?: (attempt: number) => number;
  /** Told when a stream ends with UNAUTHENTICATED (its token expired): sign in again. */
  onUnauthenticated?: () => void;
}

const defaultResubscribeDelayMs = (attempt: number) => Math.min(250 * 2 ** attempt, 5000);

/** Whether a subscription document declares an `$after` variable (it can resume). */
export function declaresAfter(query: string | undefined): boolean {
  return query !== undefined && /\$after\s*:/.test(query);
}

/** The cursor of the event a subscription result carries (`{ someField: { cursor } }`). */
export function cursorOf(result: Pick<ExecutionResult, "data">): string | undefined {
  const data = result.data;
  if (typeof data !== "object" || data === null) return undefined;
  for (const value of Object.values(data)) {
    if (typeof value === "object" && value !== null) {
      const cursor = (value as { cursor?: unknown }).cursor;
      if (typeof cursor === "string") return cursor;
    }
  }
  return undefined;
}

function errorCodes(result: ExecutionResult): string[] {
  return (result.errors ?? []).flatMap((error) => {
    const code = (error as { extensions?: { code?: unknown } }).extensions?.code;
    return typeof code === "string" ? [code] : [];
  });
}

let nextStreamId = 0;

/**
 * Wraps graphql-sse subscriptions so that they survive a gateway restart without losing or
 * repeating events. Every event a stream delivers moves its `after` variable to that event's
 * cursor; graphql-sse serialises the request again on each retry, so a reconnection asks for
 * exactly the events after the last one seen. A stream the server ends (shutdown) or closes
 * as too slow (`SLOW_SUBSCRIBER`), or while Redis is unreachable (`UNAVAILABLE`), is started
 * again the same way, with a growing delay; one whose cursor the feed no
 * longer holds (`CURSOR_EXPIRED`) goes on live. Each stream reports its link
 * state to the monitor, for the "reconnecting" banner.
 */
export function createResumableSubscriptions(options: ResumableSubscriptionsOptions) {
  const { sse, monitor, resubscribeDelayMs = defaultResubscribeDelayMs } = options;
  const onUnauthenticated = options.onUnauthenticated ?? (() => {});

  return function forwardSubscription(
    request: SubscriptionOperation,
  ): ReturnType<SubscriptionForwarder> {
    return {
      subscribe(sink) {
        const id = `stream-${++nextStreamId}`;
        const isResumable = declaresAfter(request.query);
        const payload = {
          query: request.query ?? "",
          variables: { ...request.variables } as Record<string, unknown>,
          ...(request.operationName ? { operationName: request.operationName } : {}),
          ...(request.extensions ? { extensions: request.extensions } : {}),
        };
        let isClosed = false;
        let attempt = 0;
        let hasFailed = false;
        let dispose: (() => void) | undefined;
        let timer: ReturnType<typeof setTimeout> | undefined;

        const resubscribe = () => {
          dispose?.();
          monitor.report(id, "reconnecting");
          timer = setTimeout(start, resubscribeDelayMs(attempt++));
        };

        function start(): void {
          if (isClosed) return;
          hasFailed = false;
          dispose = sse.subscribe(
            payload,
            {
              next(next) {
                if (isClosed) return;
                const result = next as ExecutionResult;
                const codes = errorCodes(result);
                // Closed as too slow, or Redis unreachable for now: both say "come back with
                // your cursor", and resubscribe backs off between attempts.
                // Its token expired or was refused: not retried; the page asks for a new one.
                if (codes.includes("UNAUTHENTICATED")) onUnauthenticated();
                if (codes.includes("SLOW_SUBSCRIBER") || codes.includes("UNAVAILABLE")) {
                  return resubscribe();
                }
                // Away so long that the feed no longer holds what followed the last event:
                // those events are gone for good, so carry on live rather than stop.
                if (codes.includes("CURSOR_EXPIRED") && payload.variables.after !== undefined) {
                  delete payload.variables.after;
                  return resubscribe();
                }
                if (result.errors?.length) hasFailed = true;
                const cursor = isResumable ? cursorOf(result) : undefined;
                if (cursor) payload.variables.after = cursor;
                attempt = 0;
                sink.next(result);
              },
              error(error) {
                if (isClosed) return;
                monitor.forget(id);
                sink.error(error);
              },
              complete() {
                if (isClosed) return;
                // Event streams never end on their own: an end without an error is a
                // gateway going away, so come back and resume (unless it was not resumable).
                if (isResumable && !hasFailed) return resubscribe();
                monitor.forget(id);
                sink.complete();
              },
            },
            {
              connecting: (isReconnecting) =>
                monitor.report(id, isReconnecting || attempt > 0 ? "reconnecting" : "connecting"),
              connected: () => monitor.report(id, "online"),
            },
          );
        }

        start();
        return {
          unsubscribe() {
            if (isClosed) return;
            isClosed = true;
            clearTimeout(timer);
            dispose?.();
            monitor.forget(id);
          },
        };
      },
    };
  };
}
