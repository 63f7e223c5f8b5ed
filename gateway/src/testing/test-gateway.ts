import { EVENT_TYPES, type EventType, type Keys } from "@conveyor/contract";
import { uniquePrefix } from "@conveyor/testkit";
import { Redis } from "ioredis";
import { inject, onTestFinished } from "vitest";
import { GatewayEnv } from "../env.ts";
import { createGateway, type Gateway } from "../server.ts";

/** A GraphQL response as received. */
export interface GraphQLResponse<TData = Record<string, unknown>> {
  status: number;
  data?: TData | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

/** A gateway started in-process for one test, on its own key prefix and a free port. */
export interface TestGateway {
  readonly gateway: Gateway;
  readonly keys: Keys;
  readonly prefix: string;
  readonly redisUrl: string;
  /** The test's own connection. */
  readonly redis: Redis;
  /** Posts an operation to `/graphql`. */
  graphql<TData = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<GraphQLResponse<TData>>;
  /** The length of every event stream. */
  streamLengths(): Promise<Record<EventType, number>>;
}

/**
 * Starts a gateway for the running test (stopped when the test finishes, pass or fail). Settings
 * default to quiet logs, no trimming, quick stops and no authentication (`AUTH_MODE=off`, even
 * with `NODE_ENV=production`, so tests of other features need no token); `settings` override
 * them.
 */
export async function startTestGateway(
  settings: Record<string, string> = {},
  shared?: { prefix: string },
): Promise<TestGateway> {
  const redisUrl = inject("redisUrl");
  const prefix = shared?.prefix ?? uniquePrefix("gateway");
  const env = GatewayEnv.parse({
    NODE_ENV: "test",
    REDIS_URL: redisUrl,
    STREAM_PREFIX: prefix,
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "silent",
    CONSUMER_NAME: `test-${Math.random().toString(36).slice(2)}`,
    TRIM_INTERVAL_MS: "3600000",
    STOP_TIMEOUT_MS: "2000",
    AUTH_MODE: "off",
    ...settings,
  });
  const gateway = createGateway({ env });
  const redis = new Redis(redisUrl);
  onTestFinished(async () => {
    await gateway.stop();
    await redis.quit();
  });
  await gateway.start();
  return {
    gateway,
    keys: gateway.keys,
    prefix,
    redisUrl,
    redis,
    async graphql(query, variables) {
      const response = await fetch(gateway.url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ query, variables }),
      });
      return { status: response.status, ...(await response.json()) };
    },
    async streamLengths() {
      const lengthOf = async (type: EventType) => {
        const perPartition = await Promise.all(
          gateway.keys.partitions.map((partition) => redis.xlen(partition.stream(type))),
        );
        return perPartition.reduce((sum, length) => sum + length, 0);
      };
      const lengths = await Promise.all(EVENT_TYPES.map(lengthOf));
      return Object.fromEntries(EVENT_TYPES.map((type, i) => [type, lengths[i]])) as Record<
        EventType,
        number
      >;
    },
  };
}

/** The placeOrder mutation with the fields tests look at. */
export const PLACE_ORDER = /* GraphQL */ `
  mutation Place($input: PlaceOrderInput!) {
    placeOrder(input: $input) {
      order {
        id
        status
        customerId
        items { sku quantity unitPrice { amountCents currency } }
        total { amountCents currency }
        traceId
        createdAt
        updatedAt
        failureReason
      }
    }
  }
`;
