import type { TypedDocumentNode } from "@urql/core";
import { useEffect, useRef, useState } from "react";
import { useClient } from "urql";
import { compareCursors, type HasCursor, mergeByCursor } from "../lib/cursor.ts";

/** What {@link useEventStream} gives back. */
export interface EventStream<T extends HasCursor> {
  /** The events so far, oldest first, each cursor once. */
  events: readonly T[];
  /** The stream's GraphQL error (a bad cursor, an unknown order), if any. */
  error: string | undefined;
}

interface StreamState<T> {
  key: string;
  events: readonly T[];
  error: string | undefined;
}

/**
 * Subscribes to an event subscription and accumulates its events, deduplicated by cursor.
 *
 * The subscription lives in an effect whose cleanup unsubscribes, so React StrictMode's
 * mount → unmount → mount leaves exactly one open stream, and the events of the first mount are
 * kept (the second one resumes `after` the last cursor it saw). `key` names the stream: when it
 * changes (another order), the events start over. `seed` (events read by a query) is shown
 * first and the subscription starts after the newest of them.
 */
export function useEventStream<
  Data,
  Variables extends { after?: string | null },
  T extends HasCursor,
>(
  document: TypedDocumentNode<Data, Variables>,
  variables: Omit<Variables, "after">,
  select: (data: Data) => T | null | undefined,
  options: { key: string; isEnabled?: boolean; limit?: number; seed?: readonly T[] | undefined },
): EventStream<T> {
  const { key, isEnabled = true, limit, seed } = options;
  const client = useClient();
  const [state, setState] = useState<StreamState<T>>({ key, events: [], error: undefined });
  const lastCursorRef = useRef<{ key: string; cursor: string | undefined }>({
    key,
    cursor: undefined,
  });
  const selectRef = useRef(select);
  selectRef.current = select;
  const variablesJson = JSON.stringify(variables);

  useEffect(() => {
    if (!isEnabled) return;
    if (lastCursorRef.current.key !== key) lastCursorRef.current = { key, cursor: undefined };
    if (seed && seed.length > 0 && lastCursorRef.current.cursor === undefined) {
      const seeded = [...seed].sort((a, b) => compareCursors(a.cursor, b.cursor));
      lastCursorRef.current = { key, cursor: seeded.at(-1)?.cursor };
      setState((current) => ({
        key,
        events: mergeByCursor(current.key === key ? current.events : [], seeded, limit),
        error: undefined,
      }));
    }
    const after = lastCursorRef.current.cursor;
    const request = { ...JSON.parse(variablesJson), ...(after ? { after } : {}) } as Variables;
    const subscription = client.subscription(document, request).subscribe((result) => {
      if (result.error) {
        const message = result.error.graphQLErrors[0]?.message ?? result.error.message;
        setState((current) => ({
          key,
          events: current.key === key ? current.events : [],
          error: message,
        }));
        return;
      }
      const event = result.data ? selectRef.current(result.data) : undefined;
      if (!event) return;
      lastCursorRef.current = { key, cursor: event.cursor };
      setState((current) => {
        const events = mergeByCursor(current.key === key ? current.events : [], [event], limit);
        return current.key === key && events === current.events && current.error === undefined
          ? current
          : { key, events, error: undefined };
      });
    });
    return () => subscription.unsubscribe();
  }, [client, document, variablesJson, key, isEnabled, limit, seed]);

  return state.key === key ? state : { events: [], error: undefined };
}
