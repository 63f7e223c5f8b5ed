import type { ServerResponse } from "node:http";
import type { Plugin } from "graphql-yoga";
import { createEventStream } from "./event-stream.ts";
import type { PreparedSubscription, SubscriptionMultiplexer } from "./multiplexer.ts";

/** The multiplexer's place in Yoga: its plugin, and the subscriptions it prepared. */
export interface MultiplexedSubscriptions {
  plugin: Plugin;
  /** The subscription prepared for this request, if it was one (taken once). */
  takePrepared(request: Request): PreparedSubscription | undefined;
}

/**
 * Puts every subscription through the multiplexer, on every transport: Yoga's `subscribe` step
 * runs the field's resolver once per subscriber (arguments, authorization) and prepares it, and
 * for Yoga's own SSE (`/graphql` with `Accept: text/event-stream`) the result is written as a
 * stream of shared frames instead of being executed and serialised per subscriber. The
 * graphql-sse endpoint takes its prepared subscriptions with {@link takePrepared}.
 */
export function useMultiplexedSubscriptions(
  multiplexer: SubscriptionMultiplexer,
): MultiplexedSubscriptions {
  const prepared = new WeakMap<Request, PreparedSubscription>();
  const takePrepared = (request: Request) => {
    const subscription = prepared.get(request);
    prepared.delete(request);
    return subscription;
  };
  const plugin: Plugin<{ request?: Request }> = {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(async (args) => {
        const result = await multiplexer.prepare(args);
        const request = (args.contextValue as { request?: Request }).request;
        if (request && Symbol.asyncIterator in result) prepared.set(request, result);
        return result;
      });
    },
    onResultProcess({ request, serverContext, setResultProcessor }) {
      if (!request.headers.get("accept")?.includes("text/event-stream")) return;
      const subscription = takePrepared(request);
      if (!subscription) return;
      const response = (serverContext as { res?: ServerResponse }).res;
      setResultProcessor((_result, fetchAPI) => {
        const stream = createEventStream({ fetchAPI, response });
        subscription.attach({ stream });
        return stream.response;
      }, "text/event-stream");
    },
  };
  return { plugin, takePrepared };
}
