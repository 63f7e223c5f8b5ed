import { createContext, type ReactNode, useContext, useEffect, useState } from "react";
import { useQuery } from "urql";
import { EventsSubscription, type OrderEventView, RecentEventsQuery } from "../operations.ts";
import { type EventStream, useEventStream } from "./use-event-stream.ts";

/** How many recent events the dashboard keeps from the firehose. */
export const FEED_LIMIT = 500;

const FeedContext = createContext<EventStream<OrderEventView>>({ events: [], error: undefined });

const selectEvent = (data: { events: OrderEventView }) => data.events;

/**
 * Opens the one `events` subscription of the page and shares it: the firehose shows it, the
 * orders list and catalog refresh on it. It starts with the events of the latest orders (a
 * query), then subscribes after the newest of those, so nothing falls between the two; with no
 * orders yet it starts live. After a reconnect it resumes from the last cursor it saw.
 */
export function FeedProvider({ children }: { children: ReactNode }) {
  const [recent] = useQuery({ query: RecentEventsQuery, requestPolicy: "network-only" });
  // Taken once: later refetches of the query (cache invalidation) must not restart the stream.
  const [seed, setSeed] = useState<readonly OrderEventView[] | undefined>(undefined);
  const isSeeded = seed !== undefined;
  useEffect(() => {
    if (isSeeded) return;
    if (recent.data) setSeed(recent.data.orders.nodes.flatMap((order) => order.events));
    else if (recent.error) setSeed([]);
  }, [isSeeded, recent.data, recent.error]);
  const feed = useEventStream(EventsSubscription, {}, selectEvent, {
    key: "all",
    limit: FEED_LIMIT,
    isEnabled: isSeeded,
    seed,
  });
  return <FeedContext.Provider value={feed}>{children}</FeedContext.Provider>;
}

/** The recent events of every order, oldest first. */
export function useFeed(): EventStream<OrderEventView> {
  return useContext(FeedContext);
}
