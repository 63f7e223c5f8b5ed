import { Agent, request } from "node:http";
import { createClient } from "graphql-sse";
import { SKUS } from "./fixtures.ts";

const PLACE_ORDER = `mutation PlaceOrder($input: PlaceOrderInput!) {
  placeOrder(input: $input) { order { id } }
}`;

/** The fields the bench asks of each event: enough to match it to its order. */
const EVENTS = "subscription BenchEvents { events { type orderId occurredAt } }";

/** One event as the bench receives it. */
export interface ReceivedEvent {
  type: string;
  orderId: string;
  occurredAt: string;
}

/** A small GraphQL-over-HTTP client on keep-alive connections (cheaper than fetch per call). */
export interface GatewayClient {
  /** Places a one-line order and resolves its id; rejects on an HTTP or GraphQL error. */
  placeOrder(index: number, traceparent?: string): Promise<string>;
  close(): void;
}

/** Makes a client of the gateway at `http://host:port`. */
export function createGatewayClient(gatewayUrl: string, maxSockets = 64): GatewayClient {
  const url = new URL("/graphql", gatewayUrl);
  const agent = new Agent({ keepAlive: true, maxSockets });
  return {
    async placeOrder(index, traceparent) {
      try {
        return await send(index, traceparent);
      } catch (error) {
        // The gateway closed an idle keep-alive socket just as it was reused, before reading
        // the request (the retry that Node's http docs advise for `req.reusedSocket`).
        if ((error as { isReusedSocketReset?: boolean }).isReusedSocketReset) {
          return send(index, traceparent);
        }
        throw error;
      }
    },
    close() {
      agent.destroy();
    },
  };

  function send(index: number, traceparent: string | undefined): Promise<string> {
    const body = JSON.stringify({
      query: PLACE_ORDER,
      variables: {
        input: {
          customerId: `bench-${index % 1000}`,
          items: [{ sku: SKUS[index % SKUS.length], quantity: 1 }],
          paymentToken: "tok_visa",
        },
      },
    });
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method: "POST",
          agent,
          headers: {
            "content-type": "application/json",
            accept: "application/json",
            "content-length": Buffer.byteLength(body),
            ...(traceparent ? { traceparent } : {}),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            try {
              const parsed = JSON.parse(text) as {
                data?: { placeOrder?: { order?: { id?: string } } };
                errors?: unknown[];
              };
              const id = parsed.data?.placeOrder?.order?.id;
              if (response.statusCode === 200 && id) resolve(id);
              else reject(new Error(`placeOrder failed (${response.statusCode}): ${text}`));
            } catch {
              reject(new Error(`placeOrder answered ${response.statusCode}: ${text}`));
            }
          });
          response.on("error", reject);
        },
      );
      req.on("error", (error: NodeJS.ErrnoException) => {
        if (req.reusedSocket && error.code === "ECONNRESET") {
          Object.assign(error, { isReusedSocketReset: true });
        }
        reject(error);
      });
      req.end(body);
    });
  }
}

/** A live `events` subscription. */
export interface EventsSubscription {
  /** Resolves once the server has answered with the event stream. */
  readonly connected: Promise<void>;
  dispose(): void;
}

/**
 * Subscribes to every event with the real graphql-sse client (distinct connections mode) and
 * calls `onEvent` with the time each arrived.
 */
export function subscribeEvents(
  gatewayUrl: string,
  onEvent: (event: ReceivedEvent, receivedAtMs: number) => void,
  onError: (error: unknown) => void = () => {},
): EventsSubscription {
  let markConnected: () => void = () => {};
  const connected = new Promise<void>((resolve) => {
    markConnected = resolve;
  });
  const client = createClient({
    url: new URL("/graphql/stream", gatewayUrl).href,
    retryAttempts: 0,
  });
  const dispose = client.subscribe<{ events: ReceivedEvent }>(
    { query: EVENTS },
    {
      next: (message) => {
        const event = message.data?.events;
        if (event) onEvent(event, performance.now());
      },
      error: onError,
      complete: () => {},
    },
    { connected: () => markConnected() },
  );
  return {
    connected,
    dispose() {
      dispose();
      client.dispose();
    },
  };
}

/** A lightweight SSE subscriber for fan-out: counts events, and parses them when `isProbe`. */
export interface RawSubscriber {
  readonly received: number;
  /** Resolves once the server answered with an event stream. */
  readonly connected: Promise<void>;
  close(): void;
}

/**
 * Opens one graphql-sse (distinct connections mode) `events` subscription over plain HTTP. Only
 * a probe parses what it receives (and reports each event's delivery lag); the others count
 * `event: next` frames, so that a thousand subscribers cost the bench little CPU.
 */
export function openRawSubscriber(
  gatewayUrl: string,
  agent: Agent,
  onEvent?: (event: ReceivedEvent, receivedAtWallMs: number) => void,
): RawSubscriber {
  const body = JSON.stringify({ query: EVENTS });
  let received = 0;
  let partial = "";
  let markConnected: () => void = () => {};
  let failConnect: (error: unknown) => void = () => {};
  const connected = new Promise<void>((resolve, reject) => {
    markConnected = resolve;
    failConnect = reject;
  });
  const req = request(new URL("/graphql/stream", gatewayUrl), {
    method: "POST",
    agent,
    headers: {
      "content-type": "application/json",
      accept: "text/event-stream",
      "content-length": Buffer.byteLength(body),
    },
  });
  req.on("response", (response) => {
    if (response.statusCode !== 200) {
      failConnect(new Error(`subscription answered ${response.statusCode}`));
      response.resume();
      return;
    }
    markConnected();
    response.setEncoding("utf8");
    response.on("data", (chunk: string) => {
      const text = partial + chunk;
      const lastBreak = text.lastIndexOf("\n\n");
      if (lastBreak < 0) {
        partial = text;
        return;
      }
      partial = text.slice(lastBreak + 2);
      const complete = text.slice(0, lastBreak);
      if (!onEvent) {
        let at = complete.indexOf("event: next");
        while (at >= 0) {
          received += 1;
          at = complete.indexOf("event: next", at + 11);
        }
        return;
      }
      const now = Date.now();
      for (const frame of complete.split("\n\n")) {
        if (!frame.startsWith("event: next")) continue;
        const dataLine = frame.split("\n").find((line) => line.startsWith("data:"));
        if (!dataLine) continue;
        received += 1;
        try {
          const payload = JSON.parse(dataLine.slice(5)) as { data?: { events?: ReceivedEvent } };
          if (payload.data?.events) onEvent(payload.data.events, now);
        } catch {
          // A frame split across data lines is not expected from graphql-sse; count it anyway.
        }
      }
    });
    response.on("error", () => {});
  });
  req.on("error", (error) => failConnect(error));
  req.end(body);
  connected.catch(() => {});
  return {
    get received() {
      return received;
    },
    connected,
    close() {
      req.destroy();
    },
  };
}
