import {
  Client,
  cacheExchange,
  fetchExchange,
  mapExchange,
  subscriptionExchange,
} from "@urql/core";
import { createClient as createSseClient } from "graphql-sse";
import { type ConnectionMonitor, createConnectionMonitor } from "./connection.ts";
import { createResumableSubscriptions } from "./resumable.ts";
import { isUnauthenticated } from "./session.ts";

/** Options of {@link createGatewayClient}. */
export interface GatewayClientOptions {
  /** Where the gateway's GraphQL endpoint is; the dashboard is served beside it: `/graphql`. */
  graphqlUrl?: string;
  /** The graphql-sse endpoint: `/graphql/stream`. */
  streamUrl?: string;
  /** The bearer token every request and stream carries (`Authorization`), when signed in. */
  token?: string | undefined;
  /** Called when the gateway answers UNAUTHENTICATED (the token expired or was refused). */
  onUnauthenticated?: () => void;
}

/** The urql client of the dashboard and the monitor of its link to the gateway. */
export interface GatewayClient {
  client: Client;
  monitor: ConnectionMonitor;
  /** Closes every stream (for tests and hot reload). */
  dispose(): void;
}

/** Backoff of graphql-sse's network retries: quick first, then up to ~3 s, with jitter. */
function retryWait(retries: number): Promise<void> {
  const delayMs = Math.min(400 * 2 ** retries, 3000) + Math.random() * 300;
  return new Promise((resolve) => setTimeout(resolve, delayMs));
}

/**
 * Queries and mutations over HTTP POST; subscriptions over graphql-sse in distinct connections
 * mode (one event stream per subscription) with unlimited retries, each resumed from the last
 * cursor it delivered (see resumable.ts).
 */
export function createGatewayClient(options: GatewayClientOptions = {}): GatewayClient {
  const origin = typeof location === "undefined" ? "http://localhost" : location.origin;
  const graphqlUrl = options.graphqlUrl ?? new URL("/graphql", origin).href;
  const streamUrl = options.streamUrl ?? new URL("/graphql/stream", origin).href;
  const monitor = createConnectionMonitor();
  const { token } = options;
  // Only a token can expire: without one, UNAUTHENTICATED just means "sign in", shown as such.
  const onUnauthenticated = token ? (options.onUnauthenticated ?? (() => {})) : () => {};
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const sse = createSseClient({
    url: streamUrl,
    // graphql-sse sends these with each request of a stream (EventSource could not).
    headers,
    singleConnection: false,
    retryAttempts: Number.POSITIVE_INFINITY,
    retry: retryWait,
  });
  const forwardSubscription = createResumableSubscriptions({ sse, monitor, onUnauthenticated });

  const client = new Client({
    url: graphqlUrl,
    preferGetMethod: false,
    fetchOptions: { headers },
    exchanges: [
      cacheExchange,
      mapExchange({
        onResult(result) {
          if (isUnauthenticated(result.error?.graphQLErrors)) onUnauthenticated();
          if (result.operation.kind === "subscription") return;
          monitor.report("http", result.error?.networkError ? "reconnecting" : "online");
        },
      }),
      subscriptionExchange({
        forwardSubscription: (request) => forwardSubscription(request),
      }),
      fetchExchange,
    ],
  });
  return { client, monitor, dispose: () => sse.dispose() };
}
