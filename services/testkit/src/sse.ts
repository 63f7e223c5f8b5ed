import type { ExecutionResult } from "graphql";
import { type Client, createClient } from "graphql-sse";
import { onTestFinished } from "vitest";

/** An event as the subscription tests select it. */
export interface ReceivedEvent {
  id: string;
  cursor: string;
  type: string;
  orderId: string;
}

/** The fields tests select on OrderEvent. */
export const EVENT_FIELDS = "id cursor type orderId";

/** What one subscription received so far. */
export interface Collector {
  readonly results: ExecutionResult[];
  /** The events received, in order. */
  readonly events: ReceivedEvent[];
  /** Resolves when the server completes the subscription; rejects on a transport error. */
  readonly done: Promise<void>;
  readonly isDone: boolean;
  dispose(): void;
}

/** The events in subscription results: each result's one root field. */
function eventsIn(results: readonly ExecutionResult[]): ReceivedEvent[] {
  return results.flatMap((result) => {
    const data = result.data as Record<string, ReceivedEvent> | null | undefined;
    return data ? Object.values(data) : [];
  });
}

/**
 * A graphql-sse client in one of its two modes, disposed when the test ends; `headers` go with
 * every request it makes (e.g. `authorization`).
 */
export function sseClient(
  url: string,
  singleConnection: boolean,
  headers: Record<string, string> = {},
): Client<boolean> {
  const client = createClient({ url, singleConnection, retryAttempts: 0, headers });
  onTestFinished(() => client.dispose());
  return client as Client<boolean>;
}

/** Subscribes with a graphql-sse client and collects what arrives. */
export function collect(
  client: Client<boolean>,
  query: string,
  variables: Record<string, unknown> = {},
): Collector {
  const results: ExecutionResult[] = [];
  let isDone = false;
  let resolve: () => void = () => {};
  let reject: (error: unknown) => void = () => {};
  const done = new Promise<void>((onDone, onError) => {
    resolve = onDone;
    reject = onError;
  });
  done.catch(() => {});
  const dispose = client.subscribe(
    { query, variables },
    {
      next: (result) => {
        results.push(result as ExecutionResult);
      },
      error: (error) => {
        isDone = true;
        reject(error);
      },
      complete: () => {
        isDone = true;
        resolve();
      },
    },
  );
  onTestFinished(() => dispose());
  return {
    results,
    get events() {
      return eventsIn(results);
    },
    done,
    get isDone() {
      return isDone;
    },
    dispose,
  };
}

/**
 * Subscribes over Yoga's own SSE transport (`POST /graphql`, `Accept: text/event-stream`) and
 * collects the `next` payloads; a minimal client, to check that transport independently.
 */
export function collectYogaSse(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Collector {
  const results: ExecutionResult[] = [];
  const controller = new AbortController();
  let isDone = false;
  const done = (async () => {
    const response = await fetch(url, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ query, variables }),
      signal: controller.signal,
    });
    const decoder = new TextDecoder();
    let buffered = "";
    if (!response.body) return;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true });
      let end = buffered.indexOf("\n\n");
      while (end >= 0) {
        const message = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        end = buffered.indexOf("\n\n");
        const event = /^event: (.*)$/m.exec(message)?.[1];
        const data = /^data: (.*)$/m.exec(message)?.[1];
        if (event === "next" && data) results.push(JSON.parse(data) as ExecutionResult);
        if (event === "complete") return;
      }
    }
  })().finally(() => {
    isDone = true;
  });
  done.catch(() => {});
  onTestFinished(() => controller.abort());
  return {
    results,
    get events() {
      return eventsIn(results);
    },
    done,
    get isDone() {
      return isDone;
    },
    dispose: () => controller.abort(),
  };
}
